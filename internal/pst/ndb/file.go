package ndb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// layout holds the sizes and offsets that differ between the formats.
type layout struct {
	idSize           int // bytes in a BID / IB / NID key: 4 (ANSI) or 8
	pageSize         int
	entriesSize      int // bytes of rgbEntries
	metaOff          int // offset of cEnt
	wideCounts       bool
	trailerOff       int // offset of the PAGETRAILER
	blockTrailerSize int
	blockAlign       int
	maxBlock         int // largest block on disk, trailer included
	btEntrySize      int // BTENTRY
	bbtEntrySize     int // BBTENTRY
	nbtEntrySize     int // NBTENTRY
}

var (
	layoutANSI = layout{
		idSize: 4, pageSize: 512, entriesSize: 496, metaOff: 496, trailerOff: 500,
		blockTrailerSize: 12, blockAlign: 64, maxBlock: 8192,
		btEntrySize: 12, bbtEntrySize: 12, nbtEntrySize: 16,
	}
	layoutUnicode = layout{
		idSize: 8, pageSize: 512, entriesSize: 488, metaOff: 488, trailerOff: 496,
		blockTrailerSize: 16, blockAlign: 64, maxBlock: 8192,
		btEntrySize: 24, bbtEntrySize: 24, nbtEntrySize: 32,
	}
	// layoutUnicode4K follows the 4 KiB page layout (wVer 36) as far as it is
	// documented; no sample was available to test it.
	layoutUnicode4K = layout{
		idSize: 8, pageSize: 4096, entriesSize: 4056, metaOff: 4056, wideCounts: true, trailerOff: 4080,
		blockTrailerSize: 16, blockAlign: 512, maxBlock: 65536,
		btEntrySize: 24, bbtEntrySize: 24, nbtEntrySize: 32,
	}
)

// Limits that keep hostile input from consuming unbounded time or memory.
const (
	maxTreeDepth = 16 // B-tree and subnode tree levels
	cacheBytes   = 4 << 20
)

// File is an open PST file. It is safe for concurrent use.
type File struct {
	r     io.ReaderAt
	size  int64
	lay   layout
	fmt   Format
	crypt CryptMethod
	wVer  uint16

	nbtBID, bbtBID BID
	nbtIB, bbtIB   int64
	fileEOF        int64

	cache *lru

	// skipChecks disables CRC and signature checks (tests and fuzzing only,
	// so that structural validation behind them is exercised too).
	skipChecks bool
}

const (
	headerSizeUnicode = 564
	headerSizeANSI    = 512
)

// Open reads and checks the header. r must stay valid while the File is used.
func Open(r io.ReaderAt, size int64) (*File, error) { return open(r, size, false) }

func open(r io.ReaderAt, size int64, skipChecks bool) (*File, error) {
	if r == nil || size < 0 {
		return nil, errors.New("ndb: Open: nil reader or negative size")
	}
	n := int64(headerSizeUnicode)
	if size < n {
		n = size
	}
	buf := make([]byte, n)
	if m, err := r.ReadAt(buf, 0); m < len(buf) {
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("ndb: reading header: %w", err)
		}
		buf = buf[:m] // the reader is shorter than size: checks below report it
	}
	if len(buf) < 4 || string(buf[0:4]) != "!BDN" {
		return nil, ErrNotPST
	}
	if len(buf) < 16 {
		return nil, &TruncatedError{Offset: 0, Need: headerSizeANSI, Size: size}
	}
	if c := string(buf[8:10]); c != "SM" && c != "SO" {
		return nil, fmt.Errorf("%w: client magic %q", ErrNotPST, c)
	}
	f := &File{r: r, size: size, cache: newLRU(cacheBytes), skipChecks: skipChecks}
	f.wVer = binary.LittleEndian.Uint16(buf[10:12])
	hsize := headerSizeUnicode
	switch {
	case f.wVer == 14 || f.wVer == 15:
		f.fmt, f.lay, hsize = FormatANSI, layoutANSI, headerSizeANSI
	case f.wVer >= 21 && f.wVer <= 35:
		// 23 is the documented Unicode value; libpff also reports 21.
		f.fmt, f.lay = FormatUnicode, layoutUnicode
	case f.wVer == 36:
		f.fmt, f.lay = FormatUnicode4K, layoutUnicode4K
	default:
		return nil, fmt.Errorf("%w: wVer %d", ErrUnsupported, f.wVer)
	}
	if len(buf) < hsize {
		return nil, &TruncatedError{Offset: 0, Need: int64(hsize), Size: size}
	}
	hdr := buf[:hsize]
	corrupt := func(off int, reason string, args ...any) error {
		return &CorruptError{What: "header", Offset: int64(off), Reason: fmt.Sprintf(reason, args...)}
	}
	// dwCRCPartial covers the 471 bytes from wMagicClient.
	if got, want := computeCRC(hdr[8:8+471]), binary.LittleEndian.Uint32(hdr[4:8]); got != want && !skipChecks {
		return nil, corrupt(4, "dwCRCPartial mismatch: stored 0x%08X, computed 0x%08X", want, got)
	}
	var rootOff, sentinelOff int
	if f.fmt == FormatANSI {
		rootOff, sentinelOff = 164, 460
	} else {
		rootOff, sentinelOff = 180, 512
		// dwCRCFull covers the 516 bytes from wMagicClient.
		if got, want := computeCRC(hdr[8:8+516]), binary.LittleEndian.Uint32(hdr[524:528]); got != want && !skipChecks {
			return nil, corrupt(524, "dwCRCFull mismatch: stored 0x%08X, computed 0x%08X", want, got)
		}
	}
	if hdr[sentinelOff] != 0x80 {
		return nil, corrupt(sentinelOff, "bSentinel is 0x%02X, want 0x80", hdr[sentinelOff])
	}
	f.crypt = CryptMethod(hdr[sentinelOff+1])
	if f.crypt > CryptCyclic {
		return nil, fmt.Errorf("%w: bCryptMethod 0x%02X", ErrUnsupported, uint8(f.crypt))
	}
	root := hdr[rootOff:]
	id := f.lay.idSize
	// ROOT: dwReserved, ibFileEof, ibAMapLast, cbAMapFree, cbPMapFree,
	// BREFNBT, BREFBBT, fAMapValid ([MS-PST] 2.2.2.5).
	f.fileEOF = int64(f.getID(root[4:]))
	brefNBT := 4 + 4*id
	brefBBT := brefNBT + 2*id
	f.nbtBID = BID(f.getID(root[brefNBT:]))
	f.nbtIB = int64(f.getID(root[brefNBT+id:]))
	f.bbtBID = BID(f.getID(root[brefBBT:]))
	f.bbtIB = int64(f.getID(root[brefBBT+id:]))
	if f.fileEOF < 0 {
		return nil, corrupt(rootOff+4, "ibFileEof 0x%X out of range", uint64(f.fileEOF))
	}
	if f.fileEOF > size {
		return nil, &TruncatedError{Offset: size, Need: f.fileEOF - size, Size: size}
	}
	for _, ib := range []int64{f.nbtIB, f.bbtIB} {
		if ib < int64(hsize) || ib > size-int64(f.lay.pageSize) {
			if ib >= int64(hsize) && ib >= 0 && ib < 1<<62 {
				return nil, &TruncatedError{Offset: ib, Need: int64(f.lay.pageSize), Size: size}
			}
			return nil, corrupt(rootOff, "B-tree root page offset 0x%X out of range", ib)
		}
	}
	return f, nil
}

// Format returns the file format variant.
func (f *File) Format() Format { return f.fmt }

// Crypt returns the encoding of external data blocks.
func (f *File) Crypt() CryptMethod { return f.crypt }

// Version returns the header's wVer.
func (f *File) Version() uint16 { return f.wVer }

// getID reads a BID/IB/NBT key of the format's width.
func (f *File) getID(p []byte) uint64 {
	if f.lay.idSize == 4 {
		return uint64(binary.LittleEndian.Uint32(p))
	}
	return binary.LittleEndian.Uint64(p)
}

// readRaw reads n bytes at off, bounds-checked against the file size.
func (f *File) readRaw(off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off > f.size || int64(n) > f.size-off {
		return nil, &TruncatedError{Offset: off, Need: int64(n), Size: f.size}
	}
	buf := make([]byte, n)
	m, err := f.r.ReadAt(buf, off)
	if m == n {
		return buf, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return nil, &TruncatedError{Offset: off + int64(m), Need: int64(n - m), Size: f.size}
	}
	return nil, fmt.Errorf("ndb: read at 0x%X: %w", off, err)
}

// trailerTail decodes what page trailers and block trailers share from byte 2 on: the signature, then the
// CRC and the BID, in the order of the format (ANSI puts the 4-byte BID first, Unicode the CRC).
func (l *layout) trailerTail(t []byte) (sig uint16, crc uint32, bid BID) {
	sig = binary.LittleEndian.Uint16(t[2:4])
	if l.idSize == 4 {
		return sig, binary.LittleEndian.Uint32(t[8:12]), BID(binary.LittleEndian.Uint32(t[4:8]))
	}
	return sig, binary.LittleEndian.Uint32(t[4:8]), BID(binary.LittleEndian.Uint64(t[8:16]))
}
