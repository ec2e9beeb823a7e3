//go:build windows

package main

/*
#include <stdlib.h>
#include "connector.h"
*/
import "C"

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unsafe"

	cs "github.com/mailshift/mailshift/internal/connectorsettings"
)

// ServiceEntry contexts (mapispi.h).
const (
	contextInstall        = 1 // MSG_SERVICE_INSTALL
	contextCreate         = 2 // MSG_SERVICE_CREATE
	contextConfigure      = 3 // MSG_SERVICE_CONFIGURE
	contextDelete         = 4 // MSG_SERVICE_DELETE
	contextUninstall      = 5 // MSG_SERVICE_UNINSTALL
	contextProviderCreate = 6 // MSG_SERVICE_PROVIDER_CREATE
	contextProviderDelete = 7 // MSG_SERVICE_PROVIDER_DELETE
)

// ServiceEntry flags (mapidefs.h, mapix.h).
const (
	flagUIAlways  = 0x00000002 // SERVICE_UI_ALWAYS: show the dialog whatever the settings
	flagUIAllowed = 0x00000010 // SERVICE_UI_ALLOWED: show it when the settings are not complete
	flagUnicode   = 0x80000000 // MAPI_UNICODE: strings handed back (the MAPIERROR's) are UTF-16
)

// Property types that mark a missing value in GetProps' answer (PT_ERROR) and that callers may use for the
// settings besides the stored ones.
const typeError = 0x000A

// maxInputProps bounds the caller's property array: a PRF section has a few dozen keys at most.
const maxInputProps = 4096

// storedTags are every property the service keeps; DELETE removes them all.
var storedTags = []uint32{
	cs.TagHost, cs.TagPort, cs.TagTLS, cs.TagAllowPlaintext, cs.TagLogin, cs.TagAddress,
	cs.TagFreeBusySearchURL, cs.TagCAFile, cs.TagProtectedPassword,
}

// serviceCall is one call of ServiceEntry.
type serviceCall struct {
	inst    C.HINSTANCE
	sup     C.LPMAPISUP
	uiParam C.ULONG_PTR
	flags   uint32
	context uint32
	props   C.LPSPropValue
	count   uint32
	admin   C.LPPROVIDERADMIN

	alloc C.LPALLOCATEBUFFER
	more  C.LPALLOCATEMORE
	free  C.LPFREEBUFFER
}

//export goServiceEntry
func goServiceEntry(inst C.HINSTANCE, sup C.LPMAPISUP, uiParam C.ULONG_PTR, flags, context, count C.ULONG,
	props C.LPSPropValue, admin C.LPPROVIDERADMIN, perr *C.LPMAPIERROR) (hr C.HRESULT) {
	c := &serviceCall{inst: inst, sup: sup, uiParam: uiParam, flags: uint32(flags), context: uint32(context),
		props: props, count: uint32(count), admin: admin}
	// A panic must not cross into Outlook: it would end the process with the person's unsaved work.
	defer func() {
		if p := recover(); p != nil {
			hr = c.fail(perr, failf(hrCallFailed, "internal error in the mailshift connector: %v", p))
		}
	}()
	if err := c.run(); err != nil {
		return c.fail(perr, err)
	}
	return 0
}

func (c *serviceCall) run() error {
	switch c.context {
	case contextInstall, contextUninstall:
		// Nothing is kept outside profiles: the DLL and its MAPISVC.INF sections are the installer's.
		return nil
	case contextProviderCreate, contextProviderDelete:
		// The service keeps its settings in its own section, none per provider: a provider added or
		// removed needs nothing from it.
		return nil
	case contextCreate, contextConfigure:
		return c.configure()
	case contextDelete:
		return c.withSection(func(sect C.LPPROFSECT) error {
			tags := tagArray(storedTags)
			defer C.free(unsafe.Pointer(tags))
			if hr := uint32(C.sect_delete_props(sect, tags)); hr != hrOK {
				return failf(hr, "the mailshift connector's settings could not be removed from the profile (0x%08X)", hr)
			}
			return nil
		})
	default:
		return failf(hrNoSupport, "the mailshift connector does not know the service context %d", c.context)
	}
}

func (c *serviceCall) withSection(f func(C.LPPROFSECT) error) error {
	if c.admin == nil {
		return failf(hrInvalidParam, "no provider administration object was passed to the mailshift connector")
	}
	var sect C.LPPROFSECT
	if hr := uint32(C.admin_open_section(c.admin, &sect)); hr != hrOK {
		return failf(hr, "the profile section of the mailshift connector could not be opened (0x%08X)", hr)
	}
	defer C.sect_release(sect)
	return f(sect)
}

// configure is CREATE and CONFIGURE: the stored settings, overlaid with those the caller passes (a PRF import
// passes them as properties) and, with a UI flag, those the person types; checked as a whole; stored only when
// every one passes.
func (c *serviceCall) configure() error {
	if err := c.allocRoutines(); err != nil {
		return err
	}
	in, err := readInput(C.LPSPropValue(c.props), c.count)
	if err != nil {
		return err
	}
	return c.withSection(func(sect C.LPPROFSECT) error {
		stored, err := readStored(sect, c.free)
		if err != nil {
			return err
		}
		s := overlay(stored.settings, in)
		password := in.password
		normalized, verr := s.Normalize()
		ui := c.flags&flagUIAlways != 0 || (c.flags&flagUIAllowed != 0 && verr != nil)
		if ui {
			if password == "" && stored.protected != nil {
				password, _ = unprotectPassword(stored.protected)
			}
			normalized, password, err = runDialog(c.inst, c.uiParam, s, password)
			if err != nil {
				return err
			}
		} else if verr != nil {
			// CREATE from CreateMsgService passes nothing: the settings follow in a CONFIGURE.
			if c.context == contextCreate && !in.any {
				return nil
			}
			var fe *cs.FieldError
			if errors.As(verr, &fe) && !in.any {
				return failf(hrUnconfigured, "the mailshift connector is not configured yet: %v", verr)
			}
			return failf(hrInvalidParam, "the mailshift connector's settings were refused, nothing was stored: %v", verr)
		}
		var protected []byte
		if password != "" {
			if protected, err = protectPassword(password); err != nil {
				return failf(hrCallFailed, "the password could not be encrypted for this Windows user, nothing was stored: %v", err)
			}
		}
		return c.store(sect, normalized, protected)
	})
}

func (c *serviceCall) allocRoutines() error {
	if c.sup == nil {
		return failf(hrInvalidParam, "no MAPI support object was passed to the mailshift connector")
	}
	if hr := uint32(C.sup_alloc_routines(c.sup, &c.alloc, &c.more, &c.free)); hr != hrOK || c.alloc == nil || c.more == nil || c.free == nil {
		return failf(hrCallFailed, "MAPI gave the mailshift connector no memory routines (0x%08X)", hr)
	}
	return nil
}

// input is what the caller's property array holds of the service's settings.
type input struct {
	set      map[uint32]bool // property IDs present
	settings cs.Settings
	password string
	any      bool
}

func overlay(base cs.Settings, in input) cs.Settings {
	s := base
	for id := range in.set {
		switch id {
		case cs.IDHost:
			s.Host = in.settings.Host
		case cs.IDPort:
			s.Port = in.settings.Port
		case cs.IDTLS:
			s.TLS = in.settings.TLS
		case cs.IDAllowPlaintext:
			s.AllowPlaintext = in.settings.AllowPlaintext
		case cs.IDLogin:
			s.Login = in.settings.Login
		case cs.IDAddress:
			s.Address = in.settings.Address
		case cs.IDFreeBusySearchURL:
			s.FreeBusySearchURL = in.settings.FreeBusySearchURL
		case cs.IDCAFile:
			s.CAFile = in.settings.CAFile
		}
	}
	return s
}

// readInput reads the settings out of a caller's property array. Properties of other IDs are not the service's
// and are passed over; one of its IDs with a type it cannot take is refused.
func readInput(props C.LPSPropValue, count uint32) (input, error) {
	in := input{set: map[uint32]bool{}}
	if count == 0 || props == nil {
		return in, nil
	}
	if count > maxInputProps {
		return in, failf(hrInvalidParam, "%d properties were passed to the mailshift connector; at most %d are accepted", count, maxInputProps)
	}
	for i := uint32(0); i < count; i++ {
		tag := uint32(C.prop_tag(props, C.ULONG(i)))
		id, typ := tag>>16, tag&0xFFFF
		key, known := keyOf(id)
		if !known {
			continue
		}
		bad := func(want string) error {
			return failf(hrInvalidParam, "the setting %s (property 0x%08X) must be %s; nothing was stored", key, tag, want)
		}
		switch id {
		case cs.IDPort:
			switch typ {
			case cs.TypeLong:
				in.settings.Port = int(C.prop_long(props, C.ULONG(i)))
			case cs.TypeUnicode, cs.TypeString8:
				v, err := stringProp(props, i, typ, key)
				if err != nil {
					return in, err
				}
				n, err := strconv.Atoi(v)
				if err != nil {
					return in, failf(hrInvalidParam, "the setting Port: %q is not a number; nothing was stored", v)
				}
				in.settings.Port = n
			default:
				return in, bad("a number (PT_LONG)")
			}
			if in.settings.Port == 0 {
				// 0 stands for "the TLS mode's default" in Settings; a caller who writes 0 means a port.
				in.settings.Port = -1
			}
		case cs.IDAllowPlaintext:
			switch typ {
			case cs.TypeBoolean:
				in.settings.AllowPlaintext = C.prop_bool(props, C.ULONG(i)) != 0
			case cs.TypeLong:
				in.settings.AllowPlaintext = C.prop_long(props, C.ULONG(i)) != 0
			default:
				return in, bad("true or false (PT_BOOLEAN)")
			}
		default:
			if typ != cs.TypeUnicode && typ != cs.TypeString8 {
				return in, bad("text (PT_UNICODE or PT_STRING8)")
			}
			v, err := stringProp(props, i, typ, key)
			if err != nil {
				return in, err
			}
			switch id {
			case cs.IDHost:
				in.settings.Host = v
			case cs.IDTLS:
				in.settings.TLS = v
			case cs.IDLogin:
				in.settings.Login = v
			case cs.IDAddress:
				in.settings.Address = v
			case cs.IDFreeBusySearchURL:
				in.settings.FreeBusySearchURL = v
			case cs.IDCAFile:
				in.settings.CAFile = v
			case cs.IDPassword:
				in.password = v
			}
		}
		in.set[id], in.any = true, true
	}
	return in, nil
}

// keyOf names a setting's property ID as PRF files do; the password and its stored form by their roles.
func keyOf(id uint32) (string, bool) {
	for _, p := range cs.PRFProperties {
		if p.ID == id {
			return p.Key, true
		}
	}
	switch id {
	case cs.IDPassword:
		return "Password", true
	case cs.IDProtectedPassword:
		// Only this DLL writes it; a caller handing it in would plant a password it cannot know.
		return "ProtectedPassword", false
	}
	return "", false
}

func stringProp(props C.LPSPropValue, i, typ uint32, key string) (string, error) {
	var (
		v  string
		ok bool
	)
	if typ == cs.TypeUnicode {
		v, ok = wideString(C.prop_unicode(props, C.ULONG(i)), cs.MaxValueBytes)
	} else {
		v, ok = ansiString(C.prop_string8(props, C.ULONG(i)), cs.MaxValueBytes)
	}
	if !ok {
		return "", failf(hrInvalidParam, "the setting %s is longer than %d characters; nothing was stored", key, cs.MaxValueBytes)
	}
	return v, nil
}

// wideString reads a NUL-terminated UTF-16 string of at most max units; ok is false when it is longer (the rest
// is never read).
func wideString(p C.LPWSTR, max int) (string, bool) {
	if p == nil {
		return "", true
	}
	units := unsafe.Slice((*uint16)(unsafe.Pointer(p)), max+1)
	for i, u := range units {
		if u == 0 {
			return string(utf16.Decode(units[:i])), true
		}
	}
	return "", false
}

// ansiString reads a NUL-terminated string in the ANSI code page, of at most max bytes.
func ansiString(p C.LPSTR, max int) (string, bool) {
	if p == nil {
		return "", true
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(p)), max+1)
	n := -1
	for i, c := range b {
		if c == 0 {
			n = i
			break
		}
	}
	if n < 0 {
		return "", false
	}
	if n == 0 {
		return "", true
	}
	buf := make([]uint16, n)
	got := C.acp_to_utf16(p, C.int(n), (*C.WCHAR)(unsafe.Pointer(&buf[0])), C.int(n))
	return string(utf16.Decode(buf[:got])), true
}

// stored is what the profile section holds.
type stored struct {
	settings  cs.Settings
	protected []byte
}

// readStored reads the service's properties from sect; free is the caller's MAPIFreeBuffer, which the
// property array GetProps returns must go back to.
func readStored(sect C.LPPROFSECT, free C.LPFREEBUFFER) (stored, error) {
	var st stored
	tags := tagArray(storedTags)
	defer C.free(unsafe.Pointer(tags))
	var n C.ULONG
	var vals C.LPSPropValue
	hr := uint32(C.sect_get_props(sect, tags, &n, &vals))
	// MAPI_W_ERRORS_RETURNED (0x00040380): some are missing, which is what a new section looks like.
	if hr != hrOK && hr != 0x00040380 {
		return st, failf(hr, "the mailshift connector's settings could not be read from the profile (0x%08X)", hr)
	}
	if vals == nil {
		return st, nil
	}
	defer C.call_free(free, C.LPVOID(unsafe.Pointer(vals)))
	for i := uint32(0); i < uint32(n) && i < uint32(len(storedTags)); i++ {
		tag := uint32(C.prop_tag(vals, C.ULONG(i)))
		if tag&0xFFFF == typeError {
			continue
		}
		str := func() string {
			s, _ := wideString(C.prop_unicode(vals, C.ULONG(i)), cs.MaxValueBytes)
			return s
		}
		switch tag {
		case cs.TagHost:
			st.settings.Host = str()
		case cs.TagPort:
			st.settings.Port = int(C.prop_long(vals, C.ULONG(i)))
		case cs.TagTLS:
			st.settings.TLS = str()
		case cs.TagAllowPlaintext:
			st.settings.AllowPlaintext = C.prop_bool(vals, C.ULONG(i)) != 0
		case cs.TagLogin:
			st.settings.Login = str()
		case cs.TagAddress:
			st.settings.Address = str()
		case cs.TagFreeBusySearchURL:
			st.settings.FreeBusySearchURL = str()
		case cs.TagCAFile:
			st.settings.CAFile = str()
		case cs.TagProtectedPassword:
			var data C.LPBYTE
			cb := C.prop_binary(vals, C.ULONG(i), &data)
			if cb > 0 && cb <= 64<<10 && data != nil {
				st.protected = C.GoBytes(unsafe.Pointer(data), C.int(cb))
			}
		}
	}
	return st, nil
}

// store writes the settings in one SetProps, and removes the optional ones now empty.
func (c *serviceCall) store(sect C.LPPROFSECT, s cs.Settings, protected []byte) error {
	var keep []func(v C.LPSPropValue, i C.ULONG)
	var drop []uint32
	var allocs []unsafe.Pointer
	defer func() {
		for _, p := range allocs {
			C.free(p)
		}
	}()
	str := func(tag uint32, v string) {
		if v == "" {
			drop = append(drop, tag)
			return
		}
		w := cWide(v)
		allocs = append(allocs, unsafe.Pointer(w))
		keep = append(keep, func(vals C.LPSPropValue, i C.ULONG) { C.set_unicode(vals, i, C.ULONG(tag), w) })
	}
	str(cs.TagHost, s.Host)
	keep = append(keep, func(vals C.LPSPropValue, i C.ULONG) { C.set_long(vals, i, C.ULONG(cs.TagPort), C.LONG(s.Port)) })
	str(cs.TagTLS, s.TLS)
	keep = append(keep, func(vals C.LPSPropValue, i C.ULONG) {
		b := C.ushort(0)
		if s.AllowPlaintext {
			b = 1
		}
		C.set_bool(vals, i, C.ULONG(cs.TagAllowPlaintext), b)
	})
	str(cs.TagLogin, s.Login)
	str(cs.TagAddress, s.Address)
	str(cs.TagFreeBusySearchURL, s.FreeBusySearchURL)
	str(cs.TagCAFile, s.CAFile)
	if protected != nil {
		data := C.CBytes(protected)
		allocs = append(allocs, data)
		keep = append(keep, func(vals C.LPSPropValue, i C.ULONG) {
			C.set_binary(vals, i, C.ULONG(cs.TagProtectedPassword), C.ULONG(len(protected)), C.LPBYTE(data))
		})
	}
	vals := C.LPSPropValue(C.calloc(C.size_t(len(keep)), C.size_t(unsafe.Sizeof(C.SPropValue{}))))
	if vals == nil {
		return failf(hrNotEnoughMemory, "out of memory")
	}
	allocs = append(allocs, unsafe.Pointer(vals))
	for i, f := range keep {
		f(vals, C.ULONG(i))
	}
	if hr := uint32(C.sect_set_props(sect, C.ULONG(len(keep)), vals, c.free)); hr != hrOK {
		return failf(hr, "the profile refused the mailshift connector's settings (0x%08X)", hr)
	}
	if len(drop) > 0 {
		tags := tagArray(drop)
		defer C.free(unsafe.Pointer(tags))
		if hr := uint32(C.sect_delete_props(sect, tags)); hr != hrOK {
			return failf(hr, "the cleared settings could not be removed from the profile (0x%08X)", hr)
		}
	}
	return nil
}

// tagArray is an SPropTagArray in C memory; the caller frees it.
func tagArray(tags []uint32) C.LPSPropTagArray {
	p := C.calloc(1, C.size_t(4*(1+len(tags))))
	a := unsafe.Slice((*uint32)(p), 1+len(tags))
	a[0] = uint32(len(tags))
	copy(a[1:], tags)
	return C.LPSPropTagArray(p)
}

// cWide is a NUL-terminated UTF-16 copy of s in C memory; the caller frees it.
func cWide(s string) C.LPWSTR {
	u := utf16.Encode([]rune(s))
	p := C.calloc(C.size_t(len(u)+1), 2)
	copy(unsafe.Slice((*uint16)(p), len(u)+1), u)
	return C.LPWSTR(p)
}

// fail hands err back as MAPI expects: the HRESULT, and a MAPIERROR allocated with the caller's allocator (one
// buffer, the strings linked to it, so one MAPIFreeBuffer releases all).
func (c *serviceCall) fail(perr *C.LPMAPIERROR, err error) C.HRESULT {
	hr := hresultOf(err)
	if hr == hrOK {
		hr = hrCallFailed
	}
	if perr == nil {
		return hresult(hr)
	}
	if c.alloc == nil && (c.sup == nil || c.allocRoutines() != nil) {
		return hresult(hr)
	}
	var e C.LPVOID
	if C.call_alloc(c.alloc, C.ULONG(unsafe.Sizeof(C.MAPIERROR{})), &e) != 0 || e == nil {
		return hresult(hr)
	}
	me := (*C.MAPIERROR)(e)
	*me = C.MAPIERROR{}
	me.ulContext = C.ULONG(c.context)
	me.lpszError = c.errorString(e, err.Error())
	me.lpszComponent = c.errorString(e, cs.DisplayName+" "+version)
	*perr = me
	return hresult(hr)
}

// errorString copies s into memory linked to parent, in UTF-16 when the caller asked for MAPI_UNICODE and in
// the ANSI code page's ASCII subset otherwise.
func (c *serviceCall) errorString(parent C.LPVOID, s string) C.LPSTR {
	if c.flags&flagUnicode != 0 {
		u := utf16.Encode([]rune(s))
		var p C.LPVOID
		if C.call_alloc_more(c.more, C.ULONG(2*(len(u)+1)), parent, &p) != 0 || p == nil {
			return nil
		}
		dst := unsafe.Slice((*uint16)(p), len(u)+1)
		copy(dst, u)
		dst[len(u)] = 0
		return C.LPSTR(p)
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r >= 0x80 {
			r = '?'
		}
		b = append(b, byte(r))
	}
	var p C.LPVOID
	if C.call_alloc_more(c.more, C.ULONG(len(b)+1), parent, &p) != 0 || p == nil {
		return nil
	}
	dst := unsafe.Slice((*byte)(p), len(b)+1)
	copy(dst, b)
	dst[len(b)] = 0
	return C.LPSTR(p)
}
