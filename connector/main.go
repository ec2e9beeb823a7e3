//go:build windows

// Command connector is the Outlook connector: a MAPI message service, built as a DLL (-buildmode=c-shared) for
// 64-bit and 32-bit Outlook. Outlook finds it through its section in MAPISVC.INF and calls ServiceEntry to
// install, create, configure and delete the service in a profile; the settings it keeps are those of
// internal/connectorsettings. The C side (entry.c, dialog.c) holds what cgo cannot express: the __stdcall
// exports, calls through COM vtables and the Win32 dialog.
package main

/*
#cgo LDFLAGS: -luser32 -lgdi32
#include "connector.h"
*/
import "C"

// version is the release version, set at link time (-X main.version=...).
var version = "dev"

func main() {}
