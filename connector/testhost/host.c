// Test host for the connector DLL, run under Wine. Outlook's MAPI runtime cannot run here, so the objects
// MAPI hands a message service are FAKES written for this test: FakeProfSect (an in-memory profile section),
// FakeProviderAdmin (opens it), FakeSupport (gives out FakeAllocate*, an allocator that tracks every buffer).
// They do what the MAPI reference says the real ones do for the calls the connector makes, and record the calls.
//
// The host reads a script from stdin, one command per line, fields separated by tabs, and prints what it sees:
//   set     TAG VALUE      add a property to the next call's input (TAG hex; PT_UNICODE/PT_STRING8 value
//                          as UTF-8, PT_LONG decimal, PT_BOOLEAN 0/1)
//   repeat  TAG CHAR N     a PT_UNICODE/PT_STRING8 property of N times CHAR
//   call    CONTEXT FLAGS  ServiceEntry(CONTEXT, FLAGS) with the input; prints hr, the MAPIERROR, leaks
//   dump                   the stored properties
//   ping    HOST PORT TLS ALLOWPLAIN LOGIN PASSWORD CAFILE TIMEOUT   MailshiftPingW
//   pingprofile TIMEOUT    MailshiftPingProfileW on the stored section
//   ui      ACTION ID TEXT for the next call, a step a person would take in the settings dialog (needs a
//                          display): set a field, check a box, pick the encryption, click a button, read a
//                          field, or wait for a message box, print it and close it
#define COBJMACROS
#include <windows.h>
#include <mapix.h>
#include <mapispi.h>
#include <mapidefs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- FakeAllocate*: MAPIAllocateBuffer semantics, with every buffer counted.
#define MAGIC 0x4D534654u
typedef struct Block {
	unsigned magic;
	struct Block *more; // buffers allocated with AllocateMore on this one, freed with it
	size_t size;
} Block;
static long live;

static SCODE STDMETHODCALLTYPE FakeAllocateBuffer(ULONG size, LPVOID *out) {
	Block *b = calloc(1, sizeof(Block) + size);
	if (!b) return MAPI_E_NOT_ENOUGH_MEMORY;
	b->magic = MAGIC;
	b->size = size;
	live++;
	*out = b + 1;
	return S_OK;
}
static SCODE STDMETHODCALLTYPE FakeAllocateMore(ULONG size, LPVOID parent, LPVOID *out) {
	Block *p = (Block *)parent - 1;
	if (!parent || p->magic != MAGIC) {
		printf("violation\tAllocateMore on a buffer not from FakeAllocateBuffer\n");
		return MAPI_E_INVALID_PARAMETER;
	}
	Block *b = calloc(1, sizeof(Block) + size);
	if (!b) return MAPI_E_NOT_ENOUGH_MEMORY;
	b->magic = MAGIC;
	b->size = size;
	b->more = p->more;
	p->more = b;
	*out = b + 1;
	return S_OK;
}
static ULONG STDMETHODCALLTYPE FakeFreeBuffer(LPVOID buf) {
	if (!buf) return 0;
	Block *b = (Block *)buf - 1;
	if (b->magic != MAGIC) {
		printf("violation\tFreeBuffer on a buffer not from FakeAllocateBuffer\n");
		return 0;
	}
	for (Block *m = b->more; m;) {
		Block *next = m->more;
		free(m);
		m = next;
	}
	b->magic = 0;
	free(b);
	live--;
	return 0;
}
static int ours(LPVOID buf) { return buf && ((Block *)buf - 1)->magic == MAGIC; }

// Generic "not implemented" for vtable slots the connector must not use; calling one is reported.
static HRESULT STDMETHODCALLTYPE NotImplemented(void *self) {
	(void)self;
	printf("violation\tcalled a method the fake does not implement\n");
	return MAPI_E_NO_SUPPORT;
}
static void *newVtbl(size_t size) {
	void **v = malloc(size);
	for (size_t i = 0; i < size / sizeof(void *); i++) v[i] = (void *)NotImplemented;
	return v;
}
static HRESULT STDMETHODCALLTYPE QI(void *self, REFIID iid, LPVOID *out) {
	(void)iid;
	*out = self;
	return S_OK;
}
static ULONG STDMETHODCALLTYPE AddRefRelease(void *self) {
	(void)self;
	return 1;
}

// ---- FakeProfSect: an in-memory profile section.
#define MAXPROPS 64
typedef struct {
	IProfSectVtbl *lpVtbl;
	ULONG n;
	SPropValue v[MAXPROPS];
	int setCalls, deleteCalls;
} FakeProfSect;

static void freeValue(SPropValue *v) {
	switch (PROP_TYPE(v->ulPropTag)) {
	case PT_UNICODE: free(v->Value.lpszW); break;
	case PT_STRING8: free(v->Value.lpszA); break;
	case PT_BINARY: free(v->Value.bin.lpb); break;
	}
}
static void copyValue(SPropValue *dst, const SPropValue *src) {
	*dst = *src;
	switch (PROP_TYPE(src->ulPropTag)) {
	case PT_UNICODE: dst->Value.lpszW = _wcsdup(src->Value.lpszW); break;
	case PT_STRING8: dst->Value.lpszA = _strdup(src->Value.lpszA); break;
	case PT_BINARY:
		dst->Value.bin.lpb = malloc(src->Value.bin.cb ? src->Value.bin.cb : 1);
		memcpy(dst->Value.bin.lpb, src->Value.bin.lpb, src->Value.bin.cb);
		break;
	}
}
static int findProp(FakeProfSect *s, ULONG tag) {
	for (ULONG i = 0; i < s->n; i++)
		if (PROP_ID(s->v[i].ulPropTag) == PROP_ID(tag)) return (int)i;
	return -1;
}
static HRESULT STDMETHODCALLTYPE PS_GetProps(IProfSect *self, LPSPropTagArray tags, ULONG flags, ULONG *count, LPSPropValue *out) {
	(void)flags;
	FakeProfSect *s = (FakeProfSect *)self;
	if (!tags) return MAPI_E_NO_SUPPORT;
	LPSPropValue r;
	FakeAllocateBuffer(sizeof(SPropValue) * (tags->cValues ? tags->cValues : 1), (LPVOID *)&r);
	HRESULT hr = S_OK;
	for (ULONG i = 0; i < tags->cValues; i++) {
		int at = findProp(s, tags->aulPropTag[i]);
		if (at < 0 || PROP_TYPE(s->v[at].ulPropTag) != PROP_TYPE(tags->aulPropTag[i])) {
			r[i].ulPropTag = PROP_TAG(PT_ERROR, PROP_ID(tags->aulPropTag[i]));
			r[i].Value.err = MAPI_E_NOT_FOUND;
			hr = MAPI_W_ERRORS_RETURNED;
			continue;
		}
		r[i] = s->v[at];
		// Strings and binaries go into the result's own memory, as MAPI does.
		if (PROP_TYPE(r[i].ulPropTag) == PT_UNICODE) {
			size_t bytes = (wcslen(s->v[at].Value.lpszW) + 1) * 2;
			FakeAllocateMore(bytes, r, (LPVOID *)&r[i].Value.lpszW);
			memcpy(r[i].Value.lpszW, s->v[at].Value.lpszW, bytes);
		} else if (PROP_TYPE(r[i].ulPropTag) == PT_BINARY) {
			FakeAllocateMore(s->v[at].Value.bin.cb + 1, r, (LPVOID *)&r[i].Value.bin.lpb);
			memcpy(r[i].Value.bin.lpb, s->v[at].Value.bin.lpb, s->v[at].Value.bin.cb);
		} else if (PROP_TYPE(r[i].ulPropTag) == PT_STRING8) {
			size_t bytes = strlen(s->v[at].Value.lpszA) + 1;
			FakeAllocateMore(bytes, r, (LPVOID *)&r[i].Value.lpszA);
			memcpy(r[i].Value.lpszA, s->v[at].Value.lpszA, bytes);
		}
	}
	*count = tags->cValues;
	*out = r;
	return hr;
}
static HRESULT STDMETHODCALLTYPE PS_SetProps(IProfSect *self, ULONG n, LPSPropValue v, LPSPropProblemArray *problems) {
	FakeProfSect *s = (FakeProfSect *)self;
	s->setCalls++;
	if (problems) *problems = NULL;
	for (ULONG i = 0; i < n; i++) {
		int at = findProp(s, v[i].ulPropTag);
		if (at >= 0) {
			freeValue(&s->v[at]);
		} else {
			if (s->n == MAXPROPS) return MAPI_E_NOT_ENOUGH_MEMORY;
			at = (int)s->n++;
		}
		copyValue(&s->v[at], &v[i]);
	}
	return S_OK;
}
static HRESULT STDMETHODCALLTYPE PS_DeleteProps(IProfSect *self, LPSPropTagArray tags, LPSPropProblemArray *problems) {
	FakeProfSect *s = (FakeProfSect *)self;
	s->deleteCalls++;
	if (problems) *problems = NULL;
	for (ULONG i = 0; i < tags->cValues; i++) {
		int at = findProp(s, tags->aulPropTag[i]);
		if (at < 0) continue;
		freeValue(&s->v[at]);
		s->v[at] = s->v[--s->n];
	}
	return S_OK;
}

// ---- FakeProviderAdmin: OpenProfileSection(NULL) is the service's section.
typedef struct {
	IProviderAdminVtbl *lpVtbl;
	FakeProfSect *sect;
	int opens, nonNullUID;
} FakeProviderAdmin;
static HRESULT STDMETHODCALLTYPE PA_OpenProfileSection(IProviderAdmin *self, LPMAPIUID uid, LPCIID iid, ULONG flags, LPPROFSECT *out) {
	(void)iid;
	(void)flags;
	FakeProviderAdmin *a = (FakeProviderAdmin *)self;
	a->opens++;
	if (uid) a->nonNullUID++;
	*out = (LPPROFSECT)a->sect;
	return S_OK;
}

// ---- FakeSupport: the allocator.
typedef struct {
	IMAPISupportVtbl *lpVtbl;
} FakeSupport;
static HRESULT STDMETHODCALLTYPE SUP_GetMemAllocRoutines(IMAPISupport *self, LPALLOCATEBUFFER *a, LPALLOCATEMORE *m, LPFREEBUFFER *f) {
	(void)self;
	*a = FakeAllocateBuffer;
	*m = FakeAllocateMore;
	*f = FakeFreeBuffer;
	return S_OK;
}

// ---- Settings dialog automation: what a person would do, from a second thread, while ServiceEntry's dialog
// runs its modal loop on the first.
typedef struct {
	char action[16];
	int id;
	WCHAR *text;
} UIStep;
static UIStep steps[64];
static int nsteps;
#define IDC_HOST 101

typedef struct {
	HWND found;
	BOOL settings; // looking for the settings dialog (it has the host field) or a message box (it has not)
} FindWindowArg;
static BOOL CALLBACK findDialog(HWND w, LPARAM lp) {
	FindWindowArg *a = (FindWindowArg *)lp;
	WCHAR cls[32];
	DWORD pid;
	GetWindowThreadProcessId(w, &pid);
	if (pid != GetCurrentProcessId() || !IsWindowVisible(w) || !GetClassNameW(w, cls, 32) || lstrcmpW(cls, L"#32770")) return TRUE;
	if ((GetDlgItem(w, IDC_HOST) != NULL) == a->settings) {
		a->found = w;
		return FALSE;
	}
	return TRUE;
}
static HWND waitWindow(BOOL settings) {
	for (int i = 0; i < 600; i++) {
		FindWindowArg a = {NULL, settings};
		EnumWindows(findDialog, (LPARAM)&a);
		if (a.found) return a.found;
		Sleep(50);
	}
	return NULL;
}
static void printWide(const WCHAR *w);
static DWORD WINAPI uiThread(LPVOID unused) {
	(void)unused;
	for (int i = 0; i < nsteps; i++) {
		UIStep *st = &steps[i];
		if (!strcmp(st->action, "box")) {
			HWND box = waitWindow(FALSE);
			if (!box) {
				printf("ui\tno message box appeared\n");
				continue;
			}
			WCHAR title[256], text[4096];
			GetWindowTextW(box, title, 256);
			GetDlgItemTextW(box, 0xFFFF, text, 4096);
			printf("box\t");
			printWide(title);
			printf("\t");
			printWide(text);
			printf("\n");
			PostMessageW(box, WM_COMMAND, IDOK, 0);
			// Wait for it to go before the next step looks for windows.
			for (int j = 0; j < 200 && IsWindow(box); j++) Sleep(25);
			continue;
		}
		HWND dlg = waitWindow(TRUE);
		if (!dlg) {
			printf("ui\tthe settings dialog did not appear\n");
			return 1;
		}
		if (!strcmp(st->action, "set")) {
			SendMessageW(GetDlgItem(dlg, st->id), WM_SETTEXT, 0, (LPARAM)st->text);
		} else if (!strcmp(st->action, "check")) {
			SendDlgItemMessageW(dlg, st->id, BM_SETCHECK, BST_CHECKED, 0);
		} else if (!strcmp(st->action, "select")) {
			SendDlgItemMessageW(dlg, st->id, CB_SETCURSEL, (WPARAM)_wtoi(st->text), 0);
		} else if (!strcmp(st->action, "read")) {
			WCHAR text[2048];
			GetDlgItemTextW(dlg, st->id, text, 2048);
			printf("field\t%d\t", st->id);
			printWide(text);
			printf("\n");
		} else if (!strcmp(st->action, "click")) {
			PostMessageW(dlg, WM_COMMAND, MAKEWPARAM(st->id, BN_CLICKED), (LPARAM)GetDlgItem(dlg, st->id));
			Sleep(100);
		}
	}
	return 0;
}

// ---- Output helpers.
static void printWide(const WCHAR *w) {
	if (!w) {
		printf("(null)");
		return;
	}
	int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
	char *b = malloc(n);
	WideCharToMultiByte(CP_UTF8, 0, w, -1, b, n, NULL, NULL);
	for (char *p = b; *p; p++)
		if (*p == '\n') *p = '|';
		else if (*p == '\r') *p = ' ';
	printf("%s", b);
	free(b);
}
static WCHAR *wideOf(const char *utf8) {
	int n = MultiByteToWideChar(CP_UTF8, 0, utf8, -1, NULL, 0);
	WCHAR *w = malloc(n * 2);
	MultiByteToWideChar(CP_UTF8, 0, utf8, -1, w, n);
	return w;
}

static char *field(char **line) {
	char *s = *line;
	if (!s) return "";
	char *tab = strchr(s, '\t');
	if (tab) {
		*tab = 0;
		*line = tab + 1;
	} else {
		*line = NULL;
	}
	return s;
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: host DLL < script\n");
		return 2;
	}
	HMODULE dll = LoadLibraryA(argv[1]);
	if (!dll) {
		printf("load failed\t%lu\n", GetLastError());
		return 1;
	}
	typedef HRESULT(STDAPICALLTYPE * Entry)(HINSTANCE, LPMALLOC, LPMAPISUP, ULONG_PTR, ULONG, ULONG, ULONG, LPSPropValue, LPPROVIDERADMIN, LPMAPIERROR *);
	typedef HRESULT(STDAPICALLTYPE * Ping)(LPCWSTR, ULONG, LPCWSTR, BOOL, LPCWSTR, LPCWSTR, LPCWSTR, ULONG, LPWSTR, ULONG);
	typedef HRESULT(STDAPICALLTYPE * PingProfile)(LPMAPISUP, LPPROFSECT, ULONG, LPWSTR, ULONG);
	Entry entry = (Entry)(void *)GetProcAddress(dll, "ServiceEntry");
	Ping ping = (Ping)(void *)GetProcAddress(dll, "MailshiftPingW");
	PingProfile pingProfile = (PingProfile)(void *)GetProcAddress(dll, "MailshiftPingProfileW");
	if (!entry || !ping || !pingProfile) {
		printf("missing export\n");
		return 1;
	}
	printf("loaded\n");

	FakeProfSect sect = {0};
	sect.lpVtbl = newVtbl(sizeof(IProfSectVtbl));
	sect.lpVtbl->QueryInterface = (void *)QI;
	sect.lpVtbl->AddRef = (void *)AddRefRelease;
	sect.lpVtbl->Release = (void *)AddRefRelease;
	sect.lpVtbl->GetProps = PS_GetProps;
	sect.lpVtbl->SetProps = PS_SetProps;
	sect.lpVtbl->DeleteProps = PS_DeleteProps;
	FakeProviderAdmin admin = {0};
	admin.lpVtbl = newVtbl(sizeof(IProviderAdminVtbl));
	admin.lpVtbl->QueryInterface = (void *)QI;
	admin.lpVtbl->AddRef = (void *)AddRefRelease;
	admin.lpVtbl->Release = (void *)AddRefRelease;
	admin.lpVtbl->OpenProfileSection = PA_OpenProfileSection;
	admin.sect = &sect;
	FakeSupport sup = {0};
	sup.lpVtbl = newVtbl(sizeof(IMAPISupportVtbl));
	sup.lpVtbl->QueryInterface = (void *)QI;
	sup.lpVtbl->AddRef = (void *)AddRefRelease;
	sup.lpVtbl->Release = (void *)AddRefRelease;
	sup.lpVtbl->GetMemAllocRoutines = SUP_GetMemAllocRoutines;

	SPropValue in[64];
	ULONG nin = 0;
	static char line[1 << 17];
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\r\n")] = 0;
		char *rest = line;
		char *cmd = field(&rest);
		if (!strcmp(cmd, "set") || !strcmp(cmd, "repeat")) {
			ULONG tag = strtoul(field(&rest), NULL, 16);
			char *value = field(&rest);
			char *built = NULL;
			if (!strcmp(cmd, "repeat")) {
				int n = atoi(field(&rest));
				built = malloc(n + 1);
				memset(built, value[0], n);
				built[n] = 0;
				value = built;
			}
			SPropValue *v = &in[nin++];
			v->ulPropTag = tag;
			switch (PROP_TYPE(tag)) {
			case PT_UNICODE: v->Value.lpszW = wideOf(value); break;
			case PT_STRING8: v->Value.lpszA = _strdup(value); break;
			case PT_LONG: v->Value.l = atol(value); break;
			case PT_BOOLEAN: v->Value.b = (unsigned short)atoi(value); break;
			}
			free(built);
		} else if (!strcmp(cmd, "ui")) {
			UIStep *st = &steps[nsteps++];
			lstrcpynA(st->action, field(&rest), sizeof(st->action));
			st->id = atoi(field(&rest));
			st->text = wideOf(field(&rest));
		} else if (!strcmp(cmd, "call")) {
			ULONG context = strtoul(field(&rest), NULL, 0);
			ULONG flags = strtoul(field(&rest), NULL, 0);
			LPMAPIERROR err = NULL;
			int setBefore = sect.setCalls, delBefore = sect.deleteCalls;
			HANDLE ui = nsteps ? CreateThread(NULL, 0, uiThread, NULL, 0, NULL) : NULL;
			HRESULT hr = entry(NULL, NULL, (LPMAPISUP)&sup, 0, flags, context, nin, nin ? in : NULL, (LPPROVIDERADMIN)&admin, &err);
			if (ui) {
				WaitForSingleObject(ui, 60000);
				CloseHandle(ui);
				for (int i = 0; i < nsteps; i++) free(steps[i].text);
				nsteps = 0;
			}
			printf("result\t0x%08lX\tsetprops=%d\tdeleteprops=%d\n", (unsigned long)hr, sect.setCalls - setBefore, sect.deleteCalls - delBefore);
			if (err) {
				printf("error\towned=%s\tversion=%lu\tcontext=%lu\ttext=", ours(err) ? "yes" : "no", err->ulVersion, err->ulContext);
				if (flags & MAPI_UNICODE) printWide((WCHAR *)err->lpszError);
				else printf("%s", err->lpszError ? (char *)err->lpszError : "(null)");
				printf("\tcomponent=");
				if (flags & MAPI_UNICODE) printWide((WCHAR *)err->lpszComponent);
				else printf("%s", err->lpszComponent ? (char *)err->lpszComponent : "(null)");
				printf("\n");
				FakeFreeBuffer(err);
			}
			printf("live\t%ld\topens=%d\tnonnulluid=%d\n", live, admin.opens, admin.nonNullUID);
			for (ULONG i = 0; i < nin; i++) freeValue(&in[i]);
			nin = 0;
		} else if (!strcmp(cmd, "dump")) {
			for (ULONG i = 0; i < sect.n; i++) {
				SPropValue *v = &sect.v[i];
				printf("stored\t0x%08lX\t", v->ulPropTag);
				switch (PROP_TYPE(v->ulPropTag)) {
				case PT_UNICODE: printWide(v->Value.lpszW); break;
				case PT_STRING8: printf("%s", v->Value.lpszA); break;
				case PT_LONG: printf("%ld", v->Value.l); break;
				case PT_BOOLEAN: printf("%d", v->Value.b); break;
				case PT_BINARY:
					for (ULONG j = 0; j < v->Value.bin.cb; j++) printf("%02x", v->Value.bin.lpb[j]);
					break;
				}
				printf("\n");
			}
			printf("dumped\t%lu\n", sect.n);
		} else if (!strcmp(cmd, "ping")) {
			WCHAR *host = wideOf(field(&rest));
			ULONG port = strtoul(field(&rest), NULL, 10);
			WCHAR *tls = wideOf(field(&rest));
			BOOL allow = atoi(field(&rest));
			WCHAR *login = wideOf(field(&rest));
			WCHAR *password = wideOf(field(&rest));
			WCHAR *ca = wideOf(field(&rest));
			ULONG timeout = strtoul(field(&rest), NULL, 10);
			static WCHAR report[8192];
			ULONGLONG start = GetTickCount64();
			HRESULT hr = ping(host, port, tls, allow, login, password, ca, timeout, report, ARRAYSIZE(report));
			fprintf(stderr, "ping took %llu ms\n", GetTickCount64() - start);
			printf("ping\t0x%08lX\t", (unsigned long)hr);
			printWide(report);
			printf("\n");
		} else if (!strcmp(cmd, "pingprofile")) {
			static WCHAR report[8192];
			HRESULT hr = pingProfile((LPMAPISUP)&sup, (LPPROFSECT)&sect, strtoul(field(&rest), NULL, 10), report, ARRAYSIZE(report));
			printf("ping\t0x%08lX\t", (unsigned long)hr);
			printWide(report);
			printf("\n");
			printf("live\t%ld\n", live);
		} else if (cmd[0]) {
			printf("unknown command\t%s\n", cmd);
		}
	}
	printf("done\n");
	return 0;
}
