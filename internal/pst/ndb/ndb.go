// Package ndb reads the node database (NDB) layer of Outlook PST files as
// described in [MS-PST] section 2.2: the file header, the node and block
// B-trees, data blocks (with their trailers checked), XBLOCK/XXBLOCK data
// trees, SLBLOCK/SIBLOCK subnode trees and the two block encodings
// (NDB_CRYPT_PERMUTE and NDB_CRYPT_CYCLIC, [MS-PST] section 5).
//
// Every read is bounds-checked and every structure is validated before use;
// malformed input yields a *CorruptError, a *TruncatedError, ErrNotPST or
// ErrUnsupported, never a panic. Checked are: the header's dwCRCPartial and
// (Unicode) dwCRCFull, bSentinel, ibFileEof against the file size; each
// B-tree page's ptype, BID, CRC and signature, entry sizes and counts, and
// that levels decrease by one per step (so lookups terminate) with pages
// visited at most once per walk (so walks terminate); each block's trailer
// cb, BID, signature and CRC; XBLOCK/XXBLOCK btype, cLevel, entry counts and
// lcbTotal; SLBLOCK/SIBLOCK btype, cLevel and entry counts, cycles in
// subnode trees and subnodes nested into their own ancestors.
//
// A File is safe for concurrent use. B-tree pages and decoded blocks are
// kept in a small size-bounded LRU cache per File. Node resolves a node's
// data tree up front (one BBT lookup per leaf block, no leaf data read);
// Block and ReadAt then load only the blocks they need.
//
// The 4 KiB-page variant (wVer 36) is implemented from the documented
// layout but untested against a real file; compressed 4 KiB files (wVer 37)
// are refused with ErrUnsupported.
package ndb

import (
	"errors"
	"fmt"
)

// NID is a node ID ([MS-PST] 2.2.2.1): the low 5 bits are the node type,
// the upper 27 bits the index.
type NID uint32

// Type returns the nidType (low 5 bits).
func (n NID) Type() uint8 { return uint8(n & 0x1F) }

// Index returns the nidIndex (upper 27 bits).
func (n NID) Index() uint32 { return uint32(n) >> 5 }

// nidType values ([MS-PST] 2.2.2.1).
const (
	NIDTypeHID                 = 0x00
	NIDTypeInternal            = 0x01
	NIDTypeNormalFolder        = 0x02
	NIDTypeSearchFolder        = 0x03
	NIDTypeNormalMessage       = 0x04
	NIDTypeAttachment          = 0x05
	NIDTypeSearchUpdateQueue   = 0x06
	NIDTypeSearchCriteria      = 0x07
	NIDTypeAssocMessage        = 0x08
	NIDTypeContentsTableIndex  = 0x0A
	NIDTypeReceiveFolderTable  = 0x0B
	NIDTypeOutgoingQueueTable  = 0x0C
	NIDTypeHierarchyTable      = 0x0D
	NIDTypeContentsTable       = 0x0E
	NIDTypeAssocContentsTable  = 0x0F
	NIDTypeSearchContentsTable = 0x10
	NIDTypeAttachmentTable     = 0x11
	NIDTypeRecipientTable      = 0x12
	NIDTypeSearchTableIndex    = 0x13
	NIDTypeLTP                 = 0x1F
)

// Well-known NIDs ([MS-PST] 2.4.1), plus the table template NIDs used by the
// messaging layer.
const (
	NIDMessageStore                NID = 0x21
	NIDNameToIDMap                 NID = 0x61
	NIDNormalFolderTemplate        NID = 0xA1
	NIDSearchFolderTemplate        NID = 0xC1
	NIDRootFolder                  NID = 0x122
	NIDSearchManagementQueue       NID = 0x1E1
	NIDSearchActivityList          NID = 0x201
	NIDReserved1                   NID = 0x241
	NIDSearchDomainObject          NID = 0x261
	NIDSearchGathererQueue         NID = 0x281
	NIDSearchGathererDescriptor    NID = 0x2A1
	NIDReserved2                   NID = 0x2E1
	NIDReserved3                   NID = 0x301
	NIDSearchGathererFolderQueue   NID = 0x321
	NIDHierarchyTableTemplate      NID = 0x60D
	NIDContentsTableTemplate       NID = 0x60E
	NIDAssocContentsTableTemplate  NID = 0x60F
	NIDSearchContentsTableTemplate NID = 0x610
	NIDAttachmentTable             NID = 0x671
	NIDRecipientTable              NID = 0x692
)

// BID is a block ID ([MS-PST] 2.2.2.2). Bit 0 is reserved (ignored for
// lookups), bit 1 marks an internal block; the rest is the bidIndex. ANSI
// files use 32-bit BIDs, which are zero-extended.
type BID uint64

// Internal reports whether the block is internal (XBLOCK, XXBLOCK, SLBLOCK,
// SIBLOCK): bit 1 set. Internal blocks are never encrypted.
func (b BID) Internal() bool { return b&2 != 0 }

// Index returns the bidIndex (the BID without its two low bits).
func (b BID) Index() uint64 { return uint64(b) >> 2 }

// key is what the BBT is keyed on: the BID with the reserved bit cleared.
func (b BID) key() BID { return b &^ 1 }

// Format is the PST file format variant.
type Format int

const (
	FormatANSI      Format = iota // wVer 14/15: 32-bit BIDs and offsets, 512-byte pages
	FormatUnicode                 // wVer 23: 64-bit BIDs and offsets, 512-byte pages
	FormatUnicode4K               // wVer 36: 64-bit, 4 KiB pages (untested: no sample)
)

func (f Format) String() string {
	switch f {
	case FormatANSI:
		return "ANSI"
	case FormatUnicode:
		return "Unicode"
	case FormatUnicode4K:
		return "Unicode4K"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// CryptMethod is the header's bCryptMethod ([MS-PST] 2.2.2.6).
type CryptMethod uint8

const (
	CryptNone    CryptMethod = 0 // NDB_CRYPT_NONE
	CryptPermute CryptMethod = 1 // NDB_CRYPT_PERMUTE ("compressible encryption")
	CryptCyclic  CryptMethod = 2 // NDB_CRYPT_CYCLIC ("high encryption")
)

func (c CryptMethod) String() string {
	switch c {
	case CryptNone:
		return "none"
	case CryptPermute:
		return "permute"
	case CryptCyclic:
		return "cyclic"
	}
	return fmt.Sprintf("CryptMethod(%d)", uint8(c))
}

var (
	// ErrNotFound is wrapped by errors for a NID or BID absent from its tree.
	ErrNotFound = errors.New("ndb: not found")
	// ErrNotPST is returned by Open for a file without the "!BDN" magic or
	// with a client magic other than "SM" (PST) / "SO" (OST).
	ErrNotPST = errors.New("ndb: not a PST file")
	// ErrUnsupported is returned for valid-looking PST variants this package
	// does not read (unknown wVer, compressed wVer 37, unknown bCryptMethod).
	ErrUnsupported = errors.New("ndb: unsupported PST variant")
	// ErrCorrupt matches every *CorruptError with errors.Is.
	ErrCorrupt = errors.New("ndb: corrupt PST file")
)

// CorruptError reports a structure that fails validation. What names the
// structure ("header", "NBT page", "BBT page", "data block", "XBLOCK",
// "XXBLOCK", "SLBLOCK", "SIBLOCK", "subnode block", ...); NID, BID and Offset
// identify it where known (zero otherwise).
type CorruptError struct {
	What   string
	NID    NID
	BID    BID
	Offset int64
	Reason string
}

func (e *CorruptError) Error() string {
	s := "ndb: corrupt " + e.What
	if e.BID != 0 {
		s += fmt.Sprintf(" 0x%X", uint64(e.BID))
	}
	if e.NID != 0 {
		s += fmt.Sprintf(" of node 0x%X", uint32(e.NID))
	}
	s += fmt.Sprintf(" at offset 0x%X: %s", e.Offset, e.Reason)
	return s
}

// Is makes errors.Is(err, ErrCorrupt) true for every *CorruptError.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// TruncatedError reports a read past the end of the file: Need bytes were
// needed at Offset, but the file has only Size bytes.
type TruncatedError struct {
	Offset, Need, Size int64
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("ndb: truncated file: need %d bytes at offset 0x%X, file size %d", e.Need, e.Offset, e.Size)
}

// NodeEntry is one NBT leaf entry ([MS-PST] 2.2.2.7.7.4).
type NodeEntry struct {
	NID    NID
	Data   BID // bidData
	Sub    BID // bidSub (0: no subnodes)
	Parent NID // nidParent
}
