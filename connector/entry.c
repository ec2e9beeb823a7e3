//go:build windows

#include "connector.h"
#include "_cgo_export.h"

// The exports MAPI and regsvr32 call. They are __stdcall (WINAPI), which on 32-bit Windows is not the
// convention of the functions Go exports, so each is a C function handing over to Go. --kill-at at link time
// removes the "@40" decoration, so the names are what MAPISVC.INF and GetProcAddress expect.

static HINSTANCE self;

// pin keeps this DLL loaded for the life of the process: MAPI calls FreeLibrary on it when the profile is
// closed, and a Go runtime, once started, cannot be unloaded.
static void pin(void) {
	HMODULE m;
	GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN, (LPCWSTR)(void *)&pin, &m);
	self = m;
}

__declspec(dllexport) HRESULT STDAPICALLTYPE ServiceEntry(HINSTANCE inst, LPMALLOC malloc, LPMAPISUP sup,
                                                          ULONG_PTR uiParam, ULONG flags, ULONG context,
                                                          ULONG count, LPSPropValue props, LPPROVIDERADMIN admin,
                                                          LPMAPIERROR *err) {
	pin();
	if (err) *err = NULL;
	return goServiceEntry(inst ? inst : self, sup, uiParam, flags, context, count, props, admin, err);
}

__declspec(dllexport) HRESULT STDAPICALLTYPE DllRegisterServer(void) {
	pin();
	return goRegister(self, 0);
}

__declspec(dllexport) HRESULT STDAPICALLTYPE DllUnregisterServer(void) {
	pin();
	return goRegister(self, 1);
}

// MailshiftPingW checks a server as `mailshift ping` does: TCP, TLS (the system's roots, or the CAs of
// caFile), STARTTLS, login, capabilities, namespaces, folders. report receives what was found or what failed,
// in words; the result is S_OK when every step passed. For scripts and the configuration dialog.
__declspec(dllexport) HRESULT STDAPICALLTYPE MailshiftPingW(LPCWSTR host, ULONG port, LPCWSTR tls,
                                                            BOOL allowPlaintext, LPCWSTR login, LPCWSTR password,
                                                            LPCWSTR caFile, ULONG timeoutSeconds, LPWSTR report,
                                                            ULONG reportChars) {
	pin();
	return goPing((LPWSTR)host, port, (LPWSTR)tls, allowPlaintext, (LPWSTR)login, (LPWSTR)password,
	              (LPWSTR)caFile, timeoutSeconds, report, reportChars);
}

// MailshiftPingProfileW pings with the settings and the password stored in a profile section, as the
// service's CONFIGURE left them; sup gives the allocator the section's GetProps uses.
__declspec(dllexport) HRESULT STDAPICALLTYPE MailshiftPingProfileW(LPMAPISUP sup, LPPROFSECT sect,
                                                                   ULONG timeoutSeconds, LPWSTR report,
                                                                   ULONG reportChars) {
	pin();
	return goPingProfile(sup, sect, timeoutSeconds, report, reportChars);
}

ULONG prop_tag(LPSPropValue v, ULONG i) { return v[i].ulPropTag; }
LPWSTR prop_unicode(LPSPropValue v, ULONG i) { return v[i].Value.lpszW; }
LPSTR prop_string8(LPSPropValue v, ULONG i) { return v[i].Value.lpszA; }
LONG prop_long(LPSPropValue v, ULONG i) { return v[i].Value.l; }
unsigned short prop_bool(LPSPropValue v, ULONG i) { return v[i].Value.b; }
ULONG prop_binary(LPSPropValue v, ULONG i, LPBYTE *data) {
	*data = v[i].Value.bin.lpb;
	return v[i].Value.bin.cb;
}
void set_unicode(LPSPropValue v, ULONG i, ULONG tag, LPWSTR s) {
	v[i].ulPropTag = tag;
	v[i].Value.lpszW = s;
}
void set_long(LPSPropValue v, ULONG i, ULONG tag, LONG l) {
	v[i].ulPropTag = tag;
	v[i].Value.l = l;
}
void set_bool(LPSPropValue v, ULONG i, ULONG tag, unsigned short b) {
	v[i].ulPropTag = tag;
	v[i].Value.b = b;
}
void set_binary(LPSPropValue v, ULONG i, ULONG tag, ULONG cb, LPBYTE data) {
	v[i].ulPropTag = tag;
	v[i].Value.bin.cb = cb;
	v[i].Value.bin.lpb = data;
}

// A NULL UID opens the message service's own profile section, where a service keeps its settings.
HRESULT admin_open_section(LPPROVIDERADMIN admin, LPPROFSECT *sect) {
	return admin->lpVtbl->OpenProfileSection(admin, NULL, NULL, MAPI_MODIFY, sect);
}
HRESULT sect_get_props(LPPROFSECT sect, LPSPropTagArray tags, ULONG *count, LPSPropValue *values) {
	return sect->lpVtbl->GetProps(sect, tags, 0, count, values);
}
HRESULT sect_set_props(LPPROFSECT sect, ULONG count, LPSPropValue values, LPFREEBUFFER free) {
	LPSPropProblemArray problems = NULL;
	HRESULT hr = sect->lpVtbl->SetProps(sect, count, values, &problems);
	if (SUCCEEDED(hr) && problems) {
		// A property the section refused is a failure of the whole configuration: a half-stored one would
		// show settings that were never accepted.
		hr = problems->cProblem ? problems->aProblem[0].scode : MAPI_E_CALL_FAILED;
		free(problems);
	}
	return hr;
}
HRESULT sect_delete_props(LPPROFSECT sect, LPSPropTagArray tags) {
	return sect->lpVtbl->DeleteProps(sect, tags, NULL);
}
void sect_release(LPPROFSECT sect) { sect->lpVtbl->Release(sect); }
HRESULT sup_alloc_routines(LPMAPISUP sup, LPALLOCATEBUFFER *alloc, LPALLOCATEMORE *more, LPFREEBUFFER *free) {
	return sup->lpVtbl->GetMemAllocRoutines(sup, alloc, more, free);
}
SCODE call_alloc(LPALLOCATEBUFFER alloc, ULONG size, LPVOID *out) { return alloc(size, out); }
SCODE call_alloc_more(LPALLOCATEMORE more, ULONG size, LPVOID parent, LPVOID *out) { return more(size, parent, out); }
ULONG call_free(LPFREEBUFFER free, LPVOID p) { return free(p); }

// acp_to_utf16 converts a PT_STRING8 value, which is in the ANSI code page, to UTF-16.
int acp_to_utf16(LPCSTR s, int n, LPWSTR out, int cap) { return MultiByteToWideChar(CP_ACP, 0, s, n, out, cap); }
