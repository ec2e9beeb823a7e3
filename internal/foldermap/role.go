package foldermap

// Role is the special purpose of a mail folder.
type Role int

// Roles. RoleNone means "ordinary folder" or, on a Source, "the source does not know".
const (
	RoleNone Role = iota
	RoleInbox
	RoleSent
	RoleDrafts
	RoleTrash
	RoleJunk
	RoleArchive
	RoleOutbox
)

// String is the role's lower-case name ("sent"), for logs and reasons.
func (r Role) String() string {
	switch r {
	case RoleInbox:
		return "inbox"
	case RoleSent:
		return "sent"
	case RoleDrafts:
		return "drafts"
	case RoleTrash:
		return "trash"
	case RoleJunk:
		return "junk"
	case RoleArchive:
		return "archive"
	case RoleOutbox:
		return "outbox"
	}
	return "none"
}

// SpecialUse is the RFC 6154 attribute of the role (`\Sent`), or "" for the inbox (which has its own name,
// INBOX) and the outbox (which RFC 6154 does not define).
func (r Role) SpecialUse() string {
	switch r {
	case RoleSent:
		return `\Sent`
	case RoleDrafts:
		return `\Drafts`
	case RoleTrash:
		return `\Trash`
	case RoleJunk:
		return `\Junk`
	case RoleArchive:
		return `\Archive`
	}
	return ""
}

// ConventionalName is the name used for the role's folder when the target has none: the names Dovecot's
// default configuration and most IMAP clients use.
func (r Role) ConventionalName() string {
	switch r {
	case RoleInbox:
		return "INBOX"
	case RoleSent:
		return "Sent"
	case RoleDrafts:
		return "Drafts"
	case RoleTrash:
		return "Trash"
	case RoleJunk:
		return "Junk"
	case RoleArchive:
		return "Archive"
	case RoleOutbox:
		return "Outbox"
	}
	return ""
}

// label names the role in reasons: its special-use attribute where it has one.
func (r Role) label() string {
	if a := r.SpecialUse(); a != "" {
		return a
	}
	if r == RoleInbox {
		return "INBOX"
	}
	return r.String()
}
