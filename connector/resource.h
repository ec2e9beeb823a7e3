// Control IDs of the configuration dialog (dialog.rc, dialog.c).
#define IDD_SETTINGS 100
#define IDC_HOST 101
#define IDC_PORT 102
#define IDC_TLS 103
#define IDC_ALLOWPLAIN 104
#define IDC_LOGIN 105
#define IDC_PASSWORD 106
#define IDC_ADDRESS 107
#define IDC_FBURL 108
#define IDC_CAFILE 109
#define IDC_PING 110
