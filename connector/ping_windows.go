//go:build windows

package main

/*
#include "connector.h"
*/
import "C"

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf16"
	"unsafe"

	cs "github.com/mailshift/mailshift/internal/connectorsettings"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/serverping"
)

// maxCAFileBytes bounds the CA file a ping reads: a bundle of every public root is about 250 KB.
const maxCAFileBytes = 1 << 20

// The timeout a ping gets when the caller gives none, and the most it may ask for.
const (
	defaultPingTimeout = 20 * time.Second
	maxPingTimeout     = 5 * time.Minute
)

//export goPing
func goPing(host *C.WCHAR, port C.ULONG, tls *C.WCHAR, allowPlaintext C.BOOL, login, password, caFile *C.WCHAR,
	timeoutSeconds C.ULONG, report *C.WCHAR, reportChars C.ULONG) (hr C.HRESULT) {
	var text string
	defer func() {
		if p := recover(); p != nil {
			text, hr = fmt.Sprintf("internal error in the mailshift connector: %v", p), hresult(hrCallFailed)
		}
		writeReport(report, reportChars, text)
	}()
	read := func(p *C.WCHAR, what string) (string, error) {
		v, ok := wideString(C.LPWSTR(p), cs.MaxValueBytes)
		if !ok {
			return "", failf(hrInvalidParam, "%s: longer than %d characters", what, cs.MaxValueBytes)
		}
		return v, nil
	}
	var s cs.Settings
	var pw string
	var err error
	for _, f := range []struct {
		p    *C.WCHAR
		what string
		dst  *string
	}{{host, "Host", &s.Host}, {tls, "TLS", &s.TLS}, {login, "Login", &s.Login}, {password, "Password", &pw}, {caFile, "CAFile", &s.CAFile}} {
		if *f.dst, err = read(f.p, f.what); err != nil {
			text = err.Error()
			return hresult(hresultOf(err))
		}
	}
	s.Port, s.AllowPlaintext = int(port), allowPlaintext != 0
	text, err = pingSettings(s, pw, time.Duration(timeoutSeconds)*time.Second)
	return hresult(hresultOf(err))
}

//export goPingProfile
func goPingProfile(sup C.LPMAPISUP, sect C.LPPROFSECT, timeoutSeconds C.ULONG, report *C.WCHAR, reportChars C.ULONG) (hr C.HRESULT) {
	var text string
	defer func() {
		if p := recover(); p != nil {
			text, hr = fmt.Sprintf("internal error in the mailshift connector: %v", p), hresult(hrCallFailed)
		}
		writeReport(report, reportChars, text)
	}()
	c := &serviceCall{sup: sup}
	if err := c.allocRoutines(); err != nil {
		text = err.Error()
		return hresult(hresultOf(err))
	}
	st, err := readStored(sect, c.free)
	if err != nil {
		text = err.Error()
		return hresult(hresultOf(err))
	}
	var pw string
	if st.protected != nil {
		if pw, err = unprotectPassword(st.protected); err != nil {
			text = "the stored password could not be decrypted for this Windows user; type it again in the settings"
			return hresult(hrLogonFailed)
		}
	}
	text, err = pingSettings(st.settings, pw, time.Duration(timeoutSeconds)*time.Second)
	return hresult(hresultOf(err))
}

// pingSettings runs serverping.Check with the connector's settings and says what it found, as `mailshift ping`
// prints it.
func pingSettings(s cs.Settings, password string, timeout time.Duration) (string, error) {
	s, err := s.Normalize()
	if err != nil {
		return "the settings were refused: " + err.Error(), failf(hrInvalidParam, "%v", err)
	}
	if password == "" {
		return "no password: type the password to ping the server", failf(hrLogonFailed, "no password")
	}
	ep := imapconn.Endpoint{Host: s.Host, Port: s.Port, TLS: tlsMode(s.TLS)}
	if s.CAFile != "" {
		if ep.CAPEM, err = readCAFile(s.CAFile); err != nil {
			return err.Error(), failf(hrInvalidParam, "%v", err)
		}
	}
	if timeout <= 0 {
		timeout = defaultPingTimeout
	}
	timeout = min(timeout, maxPingTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r := serverping.Check(ctx, ep, imapconn.Credentials{Login: s.Login, Password: password})
	var b strings.Builder
	if r.Failed != serverping.StepLogin {
		fmt.Fprintf(&b, "logged in to %s as %s in %s\r\n", ep.Address(), s.Login, r.LoginTime.Round(time.Millisecond))
		fmt.Fprintf(&b, "capabilities: %s\r\n", strings.Join(r.Capabilities, " "))
	}
	if r.Failed == "" {
		fmt.Fprintf(&b, "folders: %d, messages: %d\r\n", r.Folders, r.Messages)
		b.WriteString("OK")
		return b.String(), nil
	}
	fmt.Fprintf(&b, "FAILED: %s: %s: %v", r.Failed, r.Kind(), r.Err)
	return b.String(), failf(pingHRESULT(r.Kind()), "%s", b.String())
}

func pingHRESULT(k imapconn.Kind) uint32 {
	switch k {
	case imapconn.AuthenticationFailed:
		return hrLogonFailed
	case imapconn.Unreachable, imapconn.TLSFailed, imapconn.HostNotAllowed:
		return hrNetworkError
	case imapconn.Timeout:
		return hrTimeout
	}
	return hrCallFailed
}

func tlsMode(s string) imapconn.TLSMode {
	switch s {
	case cs.TLSImplicit:
		return imapconn.TLSImplicit
	case cs.TLSNone:
		return imapconn.TLSNone
	}
	return imapconn.TLSStartTLS
}

func readCAFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCAFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	if len(b) > maxCAFileBytes {
		return nil, fmt.Errorf("CA file %s is larger than %d bytes", path, maxCAFileBytes)
	}
	return b, nil
}

// writeReport copies text into the caller's buffer of chars UTF-16 units, cut to fit, always NUL-terminated.
func writeReport(dst *C.WCHAR, chars C.ULONG, text string) {
	if dst == nil || chars == 0 {
		return
	}
	u := utf16.Encode([]rune(text))
	n := min(len(u), int(chars)-1)
	out := unsafe.Slice((*uint16)(unsafe.Pointer(dst)), int(chars))
	copy(out, u[:n])
	out[n] = 0
}
