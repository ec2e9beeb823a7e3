// A stand-in for Windows 10's bcryptprimitives.dll, which Wine 8 lacks: the Go runtime (1.24 and later) gets its
// random numbers from ProcessPrng there and cannot start without it. Test-only, installed into the test Wine
// prefix; Windows has the real one.
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
	while (len > 0) {
		ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
		if (!RtlGenRandom(data, chunk)) return FALSE;
		data += chunk;
		len -= chunk;
	}
	return TRUE;
}
