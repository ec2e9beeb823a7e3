package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SyncDirection is one-way (source to target) or two-way.
// +kubebuilder:validation:Enum=OneWay;TwoWay
type SyncDirection string

const (
	SyncOneWay SyncDirection = "OneWay"
	SyncTwoWay SyncDirection = "TwoWay"
)

// DeletionPolicy says what a deletion on one side does to the other.
// +kubebuilder:validation:Enum=Propagate;Ignore;MoveToTrash
type DeletionPolicy string

const (
	DeletionPropagate   DeletionPolicy = "Propagate"
	DeletionIgnore      DeletionPolicy = "Ignore"
	DeletionMoveToTrash DeletionPolicy = "MoveToTrash"
)

// ConflictPolicy says which version wins when both sides changed the same item since the last cycle.
// +kubebuilder:validation:Enum=SourceWins;TargetWins;Newest;KeepBoth
type ConflictPolicy string

const (
	ConflictSourceWins ConflictPolicy = "SourceWins"
	ConflictTargetWins ConflictPolicy = "TargetWins"
	ConflictNewest     ConflictPolicy = "Newest"
	ConflictKeepBoth   ConflictPolicy = "KeepBoth"
)

// SyncFolderPair pairs a source folder with a target folder.
type SyncFolderPair struct {
	// +kubebuilder:validation:MinLength=1
	Source string `json:"source"`
	// Target defaults to the source name.
	// +optional
	Target string `json:"target,omitempty"`
	// Direction overrides the policy's for this pair (an archive one-way, a busy folder two-way).
	// +optional
	Direction SyncDirection `json:"direction,omitempty"`
	// Deletions overrides the policy's for this pair.
	// +optional
	Deletions DeletionPolicy `json:"deletions,omitempty"`
}

// SyncPolicySpec keeps two mailboxes in step on an interval.
// +kubebuilder:validation:XValidation:rule="duration(self.interval) >= duration('1m') && duration(self.interval) <= duration('90m')",message="interval must be between 1m and 90m"
// +kubebuilder:validation:XValidation:rule="self.sourceRef.name != self.targetRef.name",message="source and target must be different mailboxes"
type SyncPolicySpec struct {
	// SourceRef names the source Mailbox.
	SourceRef LocalObjectRef `json:"sourceRef"`
	// TargetRef names the target Mailbox.
	TargetRef LocalObjectRef `json:"targetRef"`
	// Direction OneWay copies source changes to the target; TwoWay copies both ways.
	// +optional
	// +kubebuilder:default=OneWay
	Direction SyncDirection `json:"direction,omitempty"`
	// Interval between cycles, from 1m to 90m.
	// +optional
	// +kubebuilder:default="15m"
	Interval metav1.Duration `json:"interval,omitempty"`
	// Suspend pauses the policy; it takes effect at the next cycle, a running cycle finishes.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
	// Items to sync; empty means mail, calendars and contacts.
	// +optional
	// +listType=set
	Items []ItemType `json:"items,omitempty"`
	// Folders pairs folders explicitly; empty means the mailboxes' matching special folders and INBOX.
	// +optional
	Folders []SyncFolderPair `json:"folders,omitempty"`
	// Deletions on one side: Propagate, Ignore, or MoveToTrash on the other side.
	// +optional
	// +kubebuilder:default=Ignore
	Deletions DeletionPolicy `json:"deletions,omitempty"`
	// Conflicts when both sides changed an item: SourceWins, TargetWins, Newest or KeepBoth.
	// +optional
	// +kubebuilder:default=KeepBoth
	Conflicts ConflictPolicy `json:"conflicts,omitempty"`
	// Calendar says where the source's default calendar goes on the target.
	// +optional
	Calendar *SyncCalendar `json:"calendar,omitempty"`
}

// CalendarTarget is where a sync puts the source's default calendar.
// +kubebuilder:validation:Enum=Default;Separate
type CalendarTarget string

const (
	// CalendarDefault: into the target's default calendar.
	CalendarDefault CalendarTarget = "Default"
	// CalendarSeparate: into a calendar folder of its own on the target, created for the policy.
	CalendarSeparate CalendarTarget = "Separate"
)

// SyncCalendar places the source's default calendar on the target.
// +kubebuilder:validation:XValidation:rule="self.target != 'Separate' || (has(self.name) && size(self.name) > 0)",message="a Separate calendar needs a name"
type SyncCalendar struct {
	// Target is Default (the target's default calendar) or Separate (a calendar folder of its own).
	// +kubebuilder:default=Default
	Target CalendarTarget `json:"target"`
	// Name of the separate calendar folder on the target, e.g. "Calendar (Exchange)".
	// +optional
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^[^*%\r\n\x00]+$`
	Name string `json:"name,omitempty"`
}

// AnnotationSyncNow on a SyncPolicy asks for a cycle now: set it to any new value (a timestamp, as
// `kubectl mailshift sync-now` does). A cycle that failed items runs them again ("sync again").
const AnnotationSyncNow = "mailshift.io/sync-now"

// Reasons of a SyncPolicy's conditions.
const (
	// ReasonSynced: the last cycle left both sides in step.
	ReasonSynced = "Synced"
	// ReasonItemsFailed: the last cycle ran, but some items or folders could not be synced (listed in the
	// report ConfigMap); the next cycle tries them again.
	ReasonItemsFailed = "ItemsFailed"
	// ReasonStateLost: the sync state could not be read; it was started over (every message matched again
	// by identity, nothing copied twice).
	ReasonStateLost = "StateLost"
	// ReasonFirstSyncRunning: the first cycle was too large for the manager; a MailboxMigration owned by
	// the policy (a worker Job, the migration engine's bulk path) copies the source first, and the cycles
	// start when it has finished.
	ReasonFirstSyncRunning = "FirstSyncRunning"
)

// SyncCounts are what a cycle did on one side.
type SyncCounts struct {
	// Added are messages copied to this side (put back ones included).
	Added int64 `json:"added"`
	// Updated are groupware objects replaced on this side by their new version.
	// +optional
	Updated int64 `json:"updated,omitempty"`
	// Flags are messages whose flags were set on this side.
	Flags int64 `json:"flags"`
	// Deleted are messages deleted (or moved to the trash) on this side.
	Deleted int64 `json:"deleted"`
	// Failed are changes to this side that failed; the next cycle tries them again.
	Failed int64 `json:"failed"`
}

// ByKind is c by kind of change, as the sync metrics count them.
func (c SyncCounts) ByKind() map[string]int64 {
	return map[string]int64{"added": c.Added, "updated": c.Updated, "flags": c.Flags, "deleted": c.Deleted, "failed": c.Failed}
}

// SyncCycle is one cycle's outcome.
type SyncCycle struct {
	StartTime      metav1.Time `json:"startTime"`
	CompletionTime metav1.Time `json:"completionTime"`
	// ToTarget is what the cycle did on the target (changes from the source), ToSource on the source.
	ToTarget SyncCounts `json:"toTarget"`
	ToSource SyncCounts `json:"toSource"`
	// Conflicts are items both sides changed since the cycle before, settled by spec.conflicts.
	Conflicts int64 `json:"conflicts"`
	// Folders are the folder pairs the cycle looked at; FailedFolders those it could not sync at all.
	Folders       int32 `json:"folders"`
	FailedFolders int32 `json:"failedFolders,omitempty"`
}

// SyncPolicyStatus reports the cycles.
type SyncPolicyStatus struct {
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// LastSyncTime is when the last cycle started.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
	// NextSyncTime is when the next cycle is due (none while suspended).
	// +optional
	NextSyncTime *metav1.Time `json:"nextSyncTime,omitempty"`
	// +optional
	LastCycle *SyncCycle `json:"lastCycle,omitempty"`
	// Conflicts counts conflicts settled so far.
	// +optional
	Conflicts int64 `json:"conflicts,omitempty"`
	// ReportConfigMap names the ConfigMap with the last cycle's report (per folder, every failed item).
	// +optional
	ReportConfigMap string `json:"reportConfigMap,omitempty"`
	// StateConfigMap names the ConfigMap that keeps the sync state between cycles: each side's UIDVALIDITY,
	// UIDNEXT and HIGHESTMODSEQ per folder pair, and the links between the two sides' UIDs with their last
	// agreed flags (about 80 KB for 100,000 messages), no message content and no credentials.
	// +optional
	StateConfigMap string `json:"stateConfigMap,omitempty"`
	// LastSyncNow is the value of the mailshift.io/sync-now annotation last acted on.
	// +optional
	LastSyncNow string `json:"lastSyncNow,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=syncp,categories=mailshift
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Direction",type=string,JSONPath=`.spec.direction`
// +kubebuilder:printcolumn:name="Interval",type=string,JSONPath=`.spec.interval`
// +kubebuilder:printcolumn:name="Suspended",type=boolean,JSONPath=`.spec.suspend`
// +kubebuilder:printcolumn:name="Last Sync",type=date,JSONPath=`.status.lastSyncTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// SyncPolicy keeps mail, calendars and contacts of two mailboxes in step.
type SyncPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   SyncPolicySpec   `json:"spec"`
	Status SyncPolicyStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// SyncPolicyList is a list of SyncPolicies.
type SyncPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SyncPolicy `json:"items"`
}

func init() {
	SchemeBuilder.Register(&SyncPolicy{}, &SyncPolicyList{})
}
