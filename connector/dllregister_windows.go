//go:build windows

package main

/*
#include "connector.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

//export goRegister
func goRegister(inst C.HINSTANCE, unregister C.int) (hr C.HRESULT) {
	defer func() {
		if p := recover(); p != nil {
			debugf("mailshift connector: registration failed: %v", p)
			hr = hresult(hrSelfRegClass)
		}
	}()
	path, err := modulePath(windows.Handle(uintptr(unsafe.Pointer(inst))))
	if err == nil {
		err = registerService(path, unregister != 0)
	}
	if err != nil {
		// regsvr32 and msiexec show only the HRESULT; the reason goes to the debugger output, where
		// DebugView (or WINEDEBUG=+debugstr) shows it.
		debugf("mailshift connector: registration failed: %v", err)
		return hresult(hrSelfRegClass)
	}
	return 0
}

func modulePath(h windows.Handle) (string, error) {
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n, err := windows.GetModuleFileName(h, &buf[0], uint32(len(buf)))
	if err != nil {
		return "", fmt.Errorf("the DLL's own path: %w", err)
	}
	return windows.UTF16ToString(buf[:n]), nil
}

func debugf(format string, args ...any) {
	p, err := windows.UTF16PtrFromString(fmt.Sprintf(format, args...))
	if err == nil {
		C.OutputDebugStringW((*C.WCHAR)(unsafe.Pointer(p)))
	}
}
