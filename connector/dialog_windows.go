//go:build windows

package main

/*
#include "connector.h"
*/
import "C"

import (
	"strconv"
	"unicode/utf16"
	"unsafe"

	cs "github.com/mailshift/mailshift/internal/connectorsettings"
)

// runDialog shows the settings for the person to change, until they pass or the person cancels. password is
// the one in force (typed earlier or stored); an empty field keeps it.
func runDialog(inst C.HINSTANCE, parent C.ULONG_PTR, s cs.Settings, password string) (cs.Settings, string, error) {
	d := (*C.DialogSettings)(C.calloc(1, C.size_t(unsafe.Sizeof(C.DialogSettings{}))))
	defer func() {
		// The password was in this memory: wipe it before it goes back to the heap.
		clear(unsafe.Slice((*byte)(unsafe.Pointer(d)), unsafe.Sizeof(*d)))
		C.free(unsafe.Pointer(d))
	}()
	put(d.host[:], s.Host)
	if s.Port != 0 {
		put(d.port[:], strconv.Itoa(s.Port))
	}
	put(d.tls[:], s.TLS)
	if s.AllowPlaintext {
		d.allowPlaintext = 1
	}
	put(d.login[:], s.Login)
	put(d.password[:], password)
	put(d.address[:], s.Address)
	put(d.freeBusyURL[:], s.FreeBusySearchURL)
	put(d.caFile[:], s.CAFile)
	for {
		switch r := C.show_dialog(inst, C.hwnd_of(parent), d); r {
		case C.IDOK:
		case C.IDCANCEL:
			return s, "", failf(hrUserCancel, "the mailshift connector's settings were cancelled; nothing was stored")
		default:
			return s, "", failf(hrCallFailed, "the mailshift connector's settings dialog could not be shown (DialogBox returned %d, error %d)", int(r), uint32(C.GetLastError()))
		}
		next := cs.Settings{Host: get(d.host[:]), TLS: get(d.tls[:]), AllowPlaintext: d.allowPlaintext != 0,
			Login: get(d.login[:]), Address: get(d.address[:]), FreeBusySearchURL: get(d.freeBusyURL[:]), CAFile: get(d.caFile[:])}
		if p := get(d.port[:]); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n == 0 {
				n = -1
			}
			next.Port = n
		}
		normalized, err := next.Normalize()
		if err == nil {
			return normalized, get(d.password[:]), nil
		}
		msg := cWide(err.Error())
		C.message_box(C.hwnd_of(parent), msg)
		C.free(unsafe.Pointer(msg))
		s = next
	}
}

func put(dst []C.WCHAR, s string) {
	u := utf16.Encode([]rune(s))
	n := min(len(u), len(dst)-1)
	for i := 0; i < n; i++ {
		dst[i] = C.WCHAR(u[i])
	}
	dst[n] = 0
}

func get(src []C.WCHAR) string {
	u := make([]uint16, 0, len(src))
	for _, c := range src {
		if c == 0 {
			break
		}
		u = append(u, uint16(c))
	}
	return string(utf16.Decode(u))
}
