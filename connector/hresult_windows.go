//go:build windows

package main

/*
#include "connector.h"
*/
import "C"

import (
	"errors"
	"fmt"
)

// MAPI result codes (mapicode.h, winerror.h), as the uint32 they are on the wire.
const (
	hrOK              = 0
	hrCallFailed      = 0x80004005 // MAPI_E_CALL_FAILED
	hrNoSupport       = 0x80040102 // MAPI_E_NO_SUPPORT
	hrLogonFailed     = 0x80040111 // MAPI_E_LOGON_FAILED
	hrUserCancel      = 0x80040113 // MAPI_E_USER_CANCEL
	hrNetworkError    = 0x80040115 // MAPI_E_NETWORK_ERROR
	hrUnconfigured    = 0x8004011C // MAPI_E_UNCONFIGURED
	hrTimeout         = 0x80040401 // MAPI_E_TIMEOUT
	hrInvalidParam    = 0x80070057 // MAPI_E_INVALID_PARAMETER
	hrNotEnoughMemory = 0x8007000E // MAPI_E_NOT_ENOUGH_MEMORY
	hrSelfRegClass    = 0x80040201 // SELFREG_E_CLASS: DllRegisterServer could not register
)

// mapiError is a failure with the HRESULT it is returned as and a message a person understands, which goes into
// the MAPIERROR the caller receives.
type mapiError struct {
	hr  uint32
	msg string
}

func (e *mapiError) Error() string { return e.msg }

func failf(hr uint32, format string, args ...any) error {
	return &mapiError{hr: hr, msg: fmt.Sprintf(format, args...)}
}

// hresultOf is the HRESULT an error is returned as: its own, or MAPI_E_CALL_FAILED.
func hresultOf(err error) uint32 {
	if err == nil {
		return hrOK
	}
	var me *mapiError
	if errors.As(err, &me) {
		return me.hr
	}
	return hrCallFailed
}

// hresult is hr as the C type: HRESULT is signed, the constants above are not.
func hresult(hr uint32) C.HRESULT { return C.HRESULT(int32(hr)) }
