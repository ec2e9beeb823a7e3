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
}

// SyncPolicyStatus reports the cycles.
type SyncPolicyStatus struct {
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
	// +optional
	NextSyncTime *metav1.Time `json:"nextSyncTime,omitempty"`
	// +optional
	LastCycle *Progress `json:"lastCycle,omitempty"`
	// Conflicts counts conflicts resolved so far.
	// +optional
	Conflicts int64 `json:"conflicts,omitempty"`
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
