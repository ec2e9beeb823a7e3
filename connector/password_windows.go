//go:build windows

package main

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// The password is kept only encrypted for the Windows user (DPAPI): a profile copied to another account or
// machine carries nothing that opens the mailbox. The entropy ties the blob to this service, so another
// program reading the profile cannot have it decrypted by simply asking DPAPI.
var passwordEntropy = []byte("mailshift IMAP connector password v1")

func protectPassword(password string) ([]byte, error) {
	in := []byte(password)
	defer clear(in)
	var out windows.DataBlob
	desc, _ := windows.UTF16PtrFromString("mailshift IMAP connector")
	if err := windows.CryptProtectData(blob(in), desc, blob(passwordEntropy), 0, nil,
		windows.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		return nil, err
	}
	defer freeLocal(out.Data)
	return append([]byte(nil), unsafe.Slice(out.Data, out.Size)...), nil
}

func unprotectPassword(protected []byte) (string, error) {
	var out windows.DataBlob
	if err := windows.CryptUnprotectData(blob(protected), nil, blob(passwordEntropy), 0, nil,
		windows.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		return "", err
	}
	defer freeLocal(out.Data)
	b := unsafe.Slice(out.Data, out.Size)
	defer clear(b)
	return string(b), nil
}

func blob(b []byte) *windows.DataBlob {
	if len(b) == 0 {
		return &windows.DataBlob{}
	}
	return &windows.DataBlob{Size: uint32(len(b)), Data: &b[0]}
}

// freeLocal releases what CryptProtectData and CryptUnprotectData allocated; a failure there leaves nothing to do.
func freeLocal(p *byte) { _, _ = windows.LocalFree(windows.Handle(unsafe.Pointer(p))) }
