//go:build windows

#include "connector.h"
#include "resource.h"
#include "_cgo_export.h"

// The configuration dialog. It only moves text between the controls and a DialogSettings; the checks and the
// ping are Go's (goPing), so the dialog, a PRF import and a script are held to the same rules.

static const WCHAR *tlsModes[] = {L"starttls", L"implicit", L"none"};
static const WCHAR *tlsLabels[] = {L"STARTTLS (port 143)", L"SSL/TLS (port 993)", L"None"};

static void fill(HWND dlg, DialogSettings *s) {
	SetDlgItemTextW(dlg, IDC_HOST, s->host);
	SetDlgItemTextW(dlg, IDC_PORT, s->port);
	HWND combo = GetDlgItem(dlg, IDC_TLS);
	int sel = 0;
	for (int i = 0; i < 3; i++) {
		SendMessageW(combo, CB_ADDSTRING, 0, (LPARAM)tlsLabels[i]);
		if (lstrcmpiW(s->tls, tlsModes[i]) == 0) sel = i;
	}
	SendMessageW(combo, CB_SETCURSEL, sel, 0);
	CheckDlgButton(dlg, IDC_ALLOWPLAIN, s->allowPlaintext ? BST_CHECKED : BST_UNCHECKED);
	SetDlgItemTextW(dlg, IDC_LOGIN, s->login);
	// The stored password is never shown; an empty field keeps it.
	SetDlgItemTextW(dlg, IDC_PASSWORD, L"");
	SetDlgItemTextW(dlg, IDC_ADDRESS, s->address);
	SetDlgItemTextW(dlg, IDC_FBURL, s->freeBusyURL);
	SetDlgItemTextW(dlg, IDC_CAFILE, s->caFile);
}

static void collect(HWND dlg, DialogSettings *s) {
	GetDlgItemTextW(dlg, IDC_HOST, s->host, ARRAYSIZE(s->host));
	GetDlgItemTextW(dlg, IDC_PORT, s->port, ARRAYSIZE(s->port));
	LRESULT sel = SendDlgItemMessageW(dlg, IDC_TLS, CB_GETCURSEL, 0, 0);
	lstrcpynW(s->tls, tlsModes[sel >= 0 && sel < 3 ? sel : 0], ARRAYSIZE(s->tls));
	s->allowPlaintext = IsDlgButtonChecked(dlg, IDC_ALLOWPLAIN) == BST_CHECKED;
	GetDlgItemTextW(dlg, IDC_LOGIN, s->login, ARRAYSIZE(s->login));
	WCHAR typed[ARRAYSIZE(s->password)];
	if (GetDlgItemTextW(dlg, IDC_PASSWORD, typed, ARRAYSIZE(typed)) > 0) {
		lstrcpynW(s->password, typed, ARRAYSIZE(s->password));
		s->passwordTyped = TRUE;
	}
	SecureZeroMemory(typed, sizeof(typed));
	GetDlgItemTextW(dlg, IDC_ADDRESS, s->address, ARRAYSIZE(s->address));
	GetDlgItemTextW(dlg, IDC_FBURL, s->freeBusyURL, ARRAYSIZE(s->freeBusyURL));
	GetDlgItemTextW(dlg, IDC_CAFILE, s->caFile, ARRAYSIZE(s->caFile));
}

static INT_PTR CALLBACK proc(HWND dlg, UINT msg, WPARAM wp, LPARAM lp) {
	DialogSettings *s = (DialogSettings *)GetWindowLongPtrW(dlg, DWLP_USER);
	switch (msg) {
	case WM_INITDIALOG:
		SetWindowLongPtrW(dlg, DWLP_USER, lp);
		fill(dlg, (DialogSettings *)lp);
		return TRUE;
	case WM_COMMAND:
		switch (LOWORD(wp)) {
		case IDC_PING: {
			collect(dlg, s);
			static WCHAR report[4096];
			HCURSOR old = SetCursor(LoadCursorW(NULL, (LPCWSTR)IDC_WAIT));
			HRESULT hr = goPing(s->host, (ULONG)_wtoi(s->port), s->tls, s->allowPlaintext, s->login, s->password,
			                    s->caFile, 0, report, ARRAYSIZE(report));
			SetCursor(old);
			MessageBoxW(dlg, report, SUCCEEDED(hr) ? L"Ping Server: OK" : L"Ping Server: failed",
			            MB_OK | (SUCCEEDED(hr) ? MB_ICONINFORMATION : MB_ICONWARNING));
			return TRUE;
		}
		case IDOK:
			collect(dlg, s);
			EndDialog(dlg, IDOK);
			return TRUE;
		case IDCANCEL:
			EndDialog(dlg, IDCANCEL);
			return TRUE;
		}
		break;
	}
	return FALSE;
}

INT_PTR show_dialog(HINSTANCE inst, HWND parent, DialogSettings *s) {
	return DialogBoxParamW(inst, MAKEINTRESOURCEW(IDD_SETTINGS), parent, proc, (LPARAM)s);
}

// message_box tells the person why the settings were refused before the dialog comes back.
void message_box(HWND parent, LPCWSTR text) { MessageBoxW(parent, text, L"mailshift IMAP Connector", MB_OK | MB_ICONWARNING); }
