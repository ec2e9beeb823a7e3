// The C side of the connector: what Go cannot do itself. MAPI hands the DLL COM objects (vtables) and unions;
// cgo can neither call through a vtable nor name a union member, so each call and each member is a small
// function here. Everything that decides something is in Go.
#ifndef MAILSHIFT_CONNECTOR_H
#define MAILSHIFT_CONNECTOR_H

#define COBJMACROS
#include <windows.h>
#include <mapix.h>
#include <mapispi.h>
#include <mapidefs.h>

// The entry point's own signature: mingw's MSGSERVICEENTRY types ulUIParam as ULONG, but it carries a window
// handle, which is 64 bits wide in 64-bit Outlook.
typedef HRESULT(STDAPICALLTYPE *MailshiftServiceEntry)(HINSTANCE, LPMALLOC, LPMAPISUP, ULONG_PTR, ULONG, ULONG,
                                                       ULONG, LPSPropValue, LPPROVIDERADMIN, LPMAPIERROR *);

// Union members of an SPropValue.
ULONG prop_tag(LPSPropValue v, ULONG i);
LPWSTR prop_unicode(LPSPropValue v, ULONG i);
LPSTR prop_string8(LPSPropValue v, ULONG i);
LONG prop_long(LPSPropValue v, ULONG i);
unsigned short prop_bool(LPSPropValue v, ULONG i);
ULONG prop_binary(LPSPropValue v, ULONG i, LPBYTE *data);
void set_unicode(LPSPropValue v, ULONG i, ULONG tag, LPWSTR s);
void set_long(LPSPropValue v, ULONG i, ULONG tag, LONG l);
void set_bool(LPSPropValue v, ULONG i, ULONG tag, unsigned short b);
void set_binary(LPSPropValue v, ULONG i, ULONG tag, ULONG cb, LPBYTE data);

// Calls through the vtables MAPI hands in.
HRESULT admin_open_section(LPPROVIDERADMIN admin, LPPROFSECT *sect);
HRESULT sect_get_props(LPPROFSECT sect, LPSPropTagArray tags, ULONG *count, LPSPropValue *values);
HRESULT sect_set_props(LPPROFSECT sect, ULONG count, LPSPropValue values, LPFREEBUFFER free);
HRESULT sect_delete_props(LPPROFSECT sect, LPSPropTagArray tags);
void sect_release(LPPROFSECT sect);
HRESULT sup_alloc_routines(LPMAPISUP sup, LPALLOCATEBUFFER *alloc, LPALLOCATEMORE *more, LPFREEBUFFER *free);
SCODE call_alloc(LPALLOCATEBUFFER alloc, ULONG size, LPVOID *out);
SCODE call_alloc_more(LPALLOCATEMORE more, ULONG size, LPVOID parent, LPVOID *out);
ULONG call_free(LPFREEBUFFER free, LPVOID p);
int acp_to_utf16(LPCSTR s, int n, LPWSTR out, int cap);

// The configuration dialog (dialog.c): shows the settings, lets the person change them and ping the server.
// Returns IDOK or IDCANCEL (or -1 when the dialog could not be shown).
typedef struct {
	WCHAR host[256];
	WCHAR port[8];
	WCHAR tls[16];
	BOOL allowPlaintext;
	WCHAR login[256];
	WCHAR password[256];
	WCHAR address[256];
	WCHAR freeBusyURL[1025];
	WCHAR caFile[1025];
	BOOL passwordTyped;
} DialogSettings;
INT_PTR show_dialog(HINSTANCE inst, HWND parent, DialogSettings *s);
void message_box(HWND parent, LPCWSTR text);

// hwnd_of is the window handle MAPI passes as ulUIParam.
static inline HWND hwnd_of(ULONG_PTR ui) { return (HWND)ui; }

#endif
