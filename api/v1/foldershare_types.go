package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RightsPreset is a named set of rights, as the connector's sharing dialog offered them.
// +kubebuilder:validation:Enum=ReadOnly;Author;Editor;Full
type RightsPreset string

const (
	// PresetReadOnly: lookup, read, setSeen.
	PresetReadOnly RightsPreset = "ReadOnly"
	// PresetAuthor: lookup, read, setSeen, insert, post.
	PresetAuthor RightsPreset = "Author"
	// PresetEditor: lookup, read, setSeen, insert, post, write, delete. Editing a groupware item over IMAP
	// is an APPEND of the new version and a delete of the old one, so an editor needs insert and delete.
	PresetEditor RightsPreset = "Editor"
	// PresetFull: all nine rights, administer included.
	PresetFull RightsPreset = "Full"
)

// ShareMode says what happens to ACL entries the FolderShare does not declare.
// +kubebuilder:validation:Enum=Merge;Exact
type ShareMode string

const (
	// ShareMerge leaves undeclared entries alone and never lowers rights: a grantee who held more rights
	// before the FolderShare first changed its entry keeps them (the rights applied are the union of those
	// and the declared ones). Only the owner's own entry, when declared, is set to exactly the declared
	// rights: fewer than the owner holds is refused (OwnerLockout) unless allowOwnerLockout is set, and then
	// reported with a RightsLowered Event and in the Ready message.
	ShareMerge ShareMode = "Merge"
	// ShareExact makes the ACL exactly the declared grants: undeclared entries are removed ("anyone",
	// groups and admin entries included; never negative "-id" entries, and the owner's own entry is kept
	// unless owner lockout is allowed), and a grantee who held more rights gets exactly the declared ones.
	// Every entry removed is listed in status.removedByExact, a lowering is reported with a RightsLowered
	// Event, and deleting the FolderShare puts all of them back (status.priorEntries).
	ShareExact ShareMode = "Exact"
)

// Condition type and reasons of a FolderShare's grantee subscriptions.
const (
	// ConditionSubscribed is True when every grantee that can be subscribed is subscribed to the shared
	// folders, so that they appear in the grantee's folder list without the grantee doing anything.
	ConditionSubscribed = "Subscribed"
	// ReasonGranteesSubscribed: every login grantee is subscribed (or there is none).
	ReasonGranteesSubscribed = "GranteesSubscribed"
	// ReasonGranteeNotSubscribed: at least one grantee could not be subscribed; the message says who and
	// why (most often: the MailServer has no admin credentials to act as the grantee). The grant itself
	// works; the grantee can subscribe by hand.
	ReasonGranteeNotSubscribed = "GranteeNotSubscribed"
	// ReasonRightsLowered: rights a grantee held before the FolderShare were taken away (Exact mode, or the
	// owner's declared entry with allowOwnerLockout); an Event reason, and the Ready message lists them.
	// Deleting the FolderShare gives them back.
	ReasonRightsLowered = "RightsLowered"
)

// Grant gives rights on the folder to one identifier.
// +kubebuilder:validation:XValidation:rule="has(self.rights) || has(self.preset)",message="a grant needs rights, a preset, or both"
type Grant struct {
	// Grantee is a login, "anyone", "authenticated" (Dovecot), or "group:<name>" (translated to the
	// server's group syntax). A login grantee is also subscribed to the shared folder (status.subscriptions).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=320
	// +kubebuilder:validation:Pattern=`^[^\s-][^\s]*$`
	Grantee string `json:"grantee"`
	// Rights granted. Combined with the preset when both are given.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=9
	Rights []Right `json:"rights,omitempty"`
	// Preset of rights.
	// +optional
	Preset RightsPreset `json:"preset,omitempty"`
}

// FolderShareSpec shares one folder of a mailbox through IMAP ACLs.
// +kubebuilder:validation:XValidation:rule="has(self.folder) != has(self.specialFolder)",message="set exactly one of folder and specialFolder"
// +kubebuilder:validation:XValidation:rule="self.grants.all(g, self.grants.exists_one(h, h.grantee == g.grantee))",message="each grantee may appear only once"
type FolderShareSpec struct {
	// MailboxRef names the Mailbox that owns the folder.
	MailboxRef LocalObjectRef `json:"mailboxRef"`
	// Folder is the folder's name as its owner sees it, with the server's separator (e.g. "Projects/2026",
	// or "INBOX.Projects" on legacy Cyrus).
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1000
	Folder string `json:"folder,omitempty"`
	// SpecialFolder selects one of the mailbox's groupware folders wherever the server placed it.
	// +optional
	SpecialFolder SpecialFolderType `json:"specialFolder,omitempty"`
	// Grants to apply.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=200
	Grants []Grant `json:"grants"`
	// Mode Merge leaves other ACL entries alone and never lowers a grantee's rights; Exact removes
	// undeclared entries and sets exactly the declared rights (see ShareMerge, ShareExact). Either way,
	// deleting the FolderShare restores every entry it changed as it was before (status.priorEntries).
	// +optional
	// +kubebuilder:default=Merge
	Mode ShareMode `json:"mode,omitempty"`
	// ApplyToSubfolders applies the same grants to every folder below this one.
	// +optional
	ApplyToSubfolders bool `json:"applyToSubfolders,omitempty"`
	// AllowOwnerLockout permits a change that removes or reduces the owner's own rights. Without it such a
	// change is refused with reason OwnerLockout, because it can lock the owner out of the folder.
	// +optional
	AllowOwnerLockout bool `json:"allowOwnerLockout,omitempty"`
	// ResyncInterval is how often the ACL is read back and drift corrected.
	// +optional
	// +kubebuilder:default="5m"
	ResyncInterval *metav1.Duration `json:"resyncInterval,omitempty"`
}

// ACLEntry is one entry of an ACL as read back from the server.
type ACLEntry struct {
	Identifier string `json:"identifier"`
	// Letters as the server reported them, in canonical order.
	Letters string `json:"letters"`
	// Rights are the named rights those letters amount to.
	// +optional
	Rights []Right `json:"rights,omitempty"`
}

// FolderACL is the ACL of one folder.
type FolderACL struct {
	Folder  string     `json:"folder"`
	Entries []ACLEntry `json:"entries,omitempty"`
}

// FolderShareStatus reports the ACLs as read back from the server.
type FolderShareStatus struct {
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Mailbox is the resolved folder name on the server.
	// +optional
	Mailbox string `json:"mailbox,omitempty"`
	// ACLs as read back after the last reconcile, one per folder.
	// +optional
	ACLs []FolderACL `json:"acls,omitempty"`
	// DriftCorrections counts the times the ACL on the server differed from the declared state and was put
	// back.
	// +optional
	DriftCorrections int64 `json:"driftCorrections"`
	// LastDriftTime is when drift was last corrected.
	// +optional
	LastDriftTime *metav1.Time `json:"lastDriftTime,omitempty"`
	// LastSyncTime is when the ACL was last verified.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
	// AppliedGrantees lists the identifiers this FolderShare grants now.
	// +optional
	AppliedGrantees []string `json:"appliedGrantees,omitempty"`
	// PriorEntries records every ACL entry this FolderShare declares or changed, as it was before the
	// FolderShare first touched it: recorded before any change is made, kept while the change stands, and
	// put back exactly when the change is withdrawn (a grant removed from the spec, a folder no longer
	// shared, Merge mode after Exact) or the FolderShare is deleted. An entry that did not exist is removed
	// again. The owner's own entry is only ever put back when that gives the owner rights back.
	// +optional
	PriorEntries []PriorACLEntry `json:"priorEntries,omitempty"`
	// RemovedByExact lists the entries that existed before and that Exact mode removed, as they were.
	// +optional
	RemovedByExact []FolderACL `json:"removedByExact,omitempty"`
	// Subscriptions lists, per login grantee, the shared folders under the names the grantee sees them by
	// (e.g. "shared/alice/Calendar" on Dovecot, "Other Users/alice/Calendar" on Cyrus). A grantee is
	// subscribed by logging in as the grantee through the MailServer's admin credentials; "anyone",
	// "authenticated" and groups are never subscribed (no single account to subscribe). Folders this
	// FolderShare subscribed are unsubscribed when the grant is withdrawn or the FolderShare deleted;
	// subscriptions the grantee had already made are left alone. A grantee who unsubscribes by hand is not
	// subscribed again.
	// +optional
	Subscriptions []GranteeSubscription `json:"subscriptions,omitempty"`
}

// PriorACLEntry is one ACL entry as it was before a FolderShare first changed it.
type PriorACLEntry struct {
	Folder     string `json:"folder"`
	Identifier string `json:"identifier"`
	// Existed is false when there was no entry for the identifier: restoring it means removing the entry.
	Existed bool `json:"existed"`
	// Letters the entry held, in canonical order.
	// +optional
	Letters string `json:"letters,omitempty"`
}

// GranteeSubscription is one shared folder a grantee is subscribed to.
type GranteeSubscription struct {
	Grantee string `json:"grantee"`
	// Folder is the shared folder's name as its owner sees it.
	Folder string `json:"folder"`
	// Mailbox is the folder's name as the grantee sees it.
	Mailbox string `json:"mailbox"`
	// ByShare is true when this FolderShare subscribed it, false when the grantee already was: only the
	// former are unsubscribed on revoke.
	ByShare bool `json:"byShare"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fshare,categories=mailshift
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Mailbox",type=string,JSONPath=`.spec.mailboxRef.name`
// +kubebuilder:printcolumn:name="Folder",type=string,JSONPath=`.status.mailbox`
// +kubebuilder:printcolumn:name="Drift",type=integer,JSONPath=`.status.driftCorrections`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// FolderShare shares a folder with other users through IMAP ACLs and keeps the ACL true against drift.
type FolderShare struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   FolderShareSpec   `json:"spec"`
	Status FolderShareStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// FolderShareList is a list of FolderShares.
type FolderShareList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FolderShare `json:"items"`
}

func init() {
	SchemeBuilder.Register(&FolderShare{}, &FolderShareList{})
}
