package v1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ItemType is a kind of item a migration or sync carries.
// +kubebuilder:validation:Enum=Mail;Calendar;Contacts;Tasks;Notes;Journal
type ItemType string

const (
	ItemMail     ItemType = "Mail"
	ItemCalendar ItemType = "Calendar"
	ItemContacts ItemType = "Contacts"
	ItemTasks    ItemType = "Tasks"
	ItemNotes    ItemType = "Notes"
	ItemJournal  ItemType = "Journal"
)

// GroupwareFormat is how calendar, contact, task, note and journal items are written to IMAP.
// +kubebuilder:validation:Enum=Kolab3;Kolab2;ICalendar
type GroupwareFormat string

const (
	GroupwareKolab3    GroupwareFormat = "Kolab3"
	GroupwareKolab2    GroupwareFormat = "Kolab2"
	GroupwareICalendar GroupwareFormat = "ICalendar"
)

// IMAPAuthMechanism is how mailshift logs in to a source IMAP account.
// +kubebuilder:validation:Enum=Password;XOAUTH2;OAUTHBEARER
type IMAPAuthMechanism string

const (
	AuthPassword    IMAPAuthMechanism = "Password"
	AuthXOAUTH2     IMAPAuthMechanism = "XOAUTH2"
	AuthOAUTHBEARER IMAPAuthMechanism = "OAUTHBEARER"
)

// PSTSource reads an Outlook PST file from a volume.
// +kubebuilder:validation:XValidation:rule="[has(self.volume.persistentVolumeClaim), has(self.volume.nfs), has(self.volume.csi), has(self.volume.ephemeral), has(self.volume.hostPath)].filter(x, x).size() == 1",message="volume must set exactly one of persistentVolumeClaim, nfs, csi, ephemeral and hostPath"
// +kubebuilder:validation:XValidation:rule="!has(self.volume.emptyDir) && !has(self.volume.gcePersistentDisk) && !has(self.volume.awsElasticBlockStore) && !has(self.volume.gitRepo) && !has(self.volume.secret) && !has(self.volume.iscsi) && !has(self.volume.glusterfs) && !has(self.volume.rbd) && !has(self.volume.flexVolume) && !has(self.volume.cinder) && !has(self.volume.cephfs) && !has(self.volume.flocker) && !has(self.volume.downwardAPI) && !has(self.volume.fc) && !has(self.volume.azureFile) && !has(self.volume.configMap) && !has(self.volume.vsphereVolume) && !has(self.volume.quobyte) && !has(self.volume.azureDisk) && !has(self.volume.photonPersistentDisk) && !has(self.volume.projected) && !has(self.volume.portworxVolume) && !has(self.volume.scaleIO) && !has(self.volume.storageos) && !has(self.volume.image)",message="volume may only be a persistentVolumeClaim, nfs, csi or ephemeral volume (or hostPath where the manager allows it)"
// +kubebuilder:validation:XValidation:rule="!self.path.startsWith('/')",message="path must be relative to the volume's root (no leading /)"
// +kubebuilder:validation:XValidation:rule="!(self.path == '..' || self.path.startsWith('../') || self.path.endsWith('/..') || self.path.contains('/../'))",message="path must not contain '..'"
type PSTSource struct {
	// Volume holding the file, mounted read-only into the worker: a PersistentVolumeClaim, an NFS share, a
	// CSI or ephemeral volume. hostPath is accepted only by a manager started with
	// --allow-hostpath-pst-volumes (it exposes a directory of the node).
	Volume corev1.VolumeSource `json:"volume"`
	// Path of the PST file inside the volume, relative to its root, without "..".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Path string `json:"path"`
}

// IMAPSource reads another IMAP account, such as Exchange over IMAP.
// +kubebuilder:validation:XValidation:rule="self.tls != 'None' || (has(self.insecureAllowPlaintext) && self.insecureAllowPlaintext)",message="tls None sends passwords in clear text: set insecureAllowPlaintext: true to allow it"
// +kubebuilder:validation:XValidation:rule="self.auth == 'Password' ? has(self.credentialsSecretRef) : has(self.tokenSecretRef)",message="auth Password needs credentialsSecretRef; XOAUTH2 and OAUTHBEARER need tokenSecretRef"
type IMAPSource struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Host string `json:"host"`
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
	// +optional
	// +kubebuilder:default=Implicit
	TLS TLSMode `json:"tls,omitempty"`
	// +optional
	InsecureAllowPlaintext bool `json:"insecureAllowPlaintext,omitempty"`
	// +optional
	CABundle *SecretKeyRef `json:"caBundle,omitempty"`
	// +optional
	// +kubebuilder:default=generic
	Flavor Flavor `json:"flavor,omitempty"`
	// Auth mechanism.
	// +optional
	// +kubebuilder:default=Password
	Auth IMAPAuthMechanism `json:"auth,omitempty"`
	// CredentialsSecretRef holds the login and password (auth Password).
	// +optional
	CredentialsSecretRef *CredentialsSecretRef `json:"credentialsSecretRef,omitempty"`
	// Login for OAuth2 mechanisms; with auth Password, when set, the login (the Secret then needs only the
	// password, as a Mailbox's does).
	// +optional
	// +kubebuilder:validation:MaxLength=320
	Login string `json:"login,omitempty"`
	// TokenSecretRef holds the OAuth2 bearer token (key defaults to "token").
	// +optional
	TokenSecretRef *SecretKeyRef `json:"tokenSecretRef,omitempty"`
}

// MigrationSource is where mail comes from: exactly one of pst and imap.
// +kubebuilder:validation:XValidation:rule="has(self.pst) != has(self.imap)",message="set exactly one of pst and imap"
type MigrationSource struct {
	// +optional
	PST *PSTSource `json:"pst,omitempty"`
	// +optional
	IMAP *IMAPSource `json:"imap,omitempty"`
}

// FolderRename maps a source folder to another target name.
type FolderRename struct {
	// +kubebuilder:validation:MinLength=1
	From string `json:"from"`
	// +kubebuilder:validation:MinLength=1
	To string `json:"to"`
}

// FolderRules selects and maps folders. Patterns use "/" as the separator and "*" (one level) and "**"
// (any depth) wildcards, whatever separator the servers use.
type FolderRules struct {
	// +optional
	Include []string `json:"include,omitempty"`
	// +optional
	Exclude []string `json:"exclude,omitempty"`
	// +optional
	Renames []FolderRename `json:"renames,omitempty"`
	// TargetRoot puts everything below this folder on the target.
	// +optional
	TargetRoot string `json:"targetRoot,omitempty"`
	// SkipOutbox leaves the Outbox's unsent messages out (they are reported as skipped). By default they are
	// copied into the Drafts folder, flagged \Draft, so that nothing sends them.
	// +optional
	SkipOutbox bool `json:"skipOutbox,omitempty"`
}

// SizePolicy says what to do with messages the target will not accept.
type SizePolicy struct {
	// MaxMessageBytes caps message size; 0 means the server's APPENDLIMIT, or no limit.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxMessageBytes int64 `json:"maxMessageBytes,omitempty"`
	// OnTooLarge: Skip reports and continues, Fail stops the migration.
	// +optional
	// +kubebuilder:default=Skip
	// +kubebuilder:validation:Enum=Skip;Fail
	OnTooLarge string `json:"onTooLarge,omitempty"`
}

// RateLimit throttles a migration for servers that must not be overloaded.
type RateLimit struct {
	// +optional
	// +kubebuilder:validation:Minimum=0
	MessagesPerSecond int32 `json:"messagesPerSecond,omitempty"`
	// +optional
	// +kubebuilder:validation:Minimum=0
	BytesPerSecond int64 `json:"bytesPerSecond,omitempty"`
}

// WorkerSettings shape the worker Job's pod.
type WorkerSettings struct {
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
	// BackoffLimit is how many times a failed worker is retried.
	// +optional
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	BackoffLimit *int32 `json:"backoffLimit,omitempty"`
}

// MigrationSettings is everything about a migration except its target; MigrationBatch templates reuse it.
type MigrationSettings struct {
	// Source of the mail.
	Source MigrationSource `json:"source"`
	// Folders to include, exclude and rename.
	// +optional
	Folders FolderRules `json:"folders,omitempty"`
	// Items to migrate; empty means all.
	// +optional
	// +listType=set
	Items []ItemType `json:"items,omitempty"`
	// GroupwareFormat for calendar, contact, task, note and journal items.
	// +optional
	// +kubebuilder:default=Kolab3
	GroupwareFormat GroupwareFormat `json:"groupwareFormat,omitempty"`
	// Parallelism is how many folders are copied at once.
	// +optional
	// +kubebuilder:default=4
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=32
	Parallelism int32 `json:"parallelism,omitempty"`
	// KeepOrder copies each folder over one connection in source order, so the target's UIDs follow the
	// source's order exactly. By default a large folder is split into segments copied over several
	// connections at once (faster; UIDs then follow the source order only within each segment).
	// +optional
	KeepOrder bool `json:"keepOrder,omitempty"`
	// +optional
	SizePolicy SizePolicy `json:"sizePolicy,omitempty"`
	// +optional
	RateLimit RateLimit `json:"rateLimit,omitempty"`
	// Suspend stops the worker and keeps the checkpoint; clearing it resumes.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
	// +optional
	Worker WorkerSettings `json:"worker,omitempty"`
}

// MailboxMigrationSpec migrates one source into one Mailbox.
type MailboxMigrationSpec struct {
	// MailboxRef names the target Mailbox.
	MailboxRef        LocalObjectRef `json:"mailboxRef"`
	MigrationSettings `json:",inline"`
}

// MigrationPhase is a one-word summary; the conditions are authoritative.
// +kubebuilder:validation:Enum=Pending;Running;Suspended;Succeeded;Failed
type MigrationPhase string

const (
	PhasePending   MigrationPhase = "Pending"
	PhaseRunning   MigrationPhase = "Running"
	PhaseSuspended MigrationPhase = "Suspended"
	PhaseSucceeded MigrationPhase = "Succeeded"
	PhaseFailed    MigrationPhase = "Failed"
)

// MailboxMigrationStatus reports the migration. The worker writes only progress; the controller owns the
// rest.
type MailboxMigrationStatus struct {
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// +optional
	Phase MigrationPhase `json:"phase,omitempty"`
	// +optional
	JobName string `json:"jobName,omitempty"`
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// +optional
	Progress *Progress `json:"progress,omitempty"`
	// ReportConfigMap names the ConfigMap with the failed-item report.
	// +optional
	ReportConfigMap string `json:"reportConfigMap,omitempty"`
	// Attempts counts worker runs.
	// +optional
	Attempts int32 `json:"attempts,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=mmig,categories=mailshift
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Done",type=integer,JSONPath=`.status.progress.itemsCopied`
// +kubebuilder:printcolumn:name="Total",type=integer,JSONPath=`.status.progress.itemsTotal`
// +kubebuilder:printcolumn:name="Bytes",type=integer,JSONPath=`.status.progress.bytesCopied`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// MailboxMigration copies a PST file or an IMAP account into a Mailbox.
type MailboxMigration struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   MailboxMigrationSpec   `json:"spec"`
	Status MailboxMigrationStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// MailboxMigrationList is a list of MailboxMigrations.
type MailboxMigrationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MailboxMigration `json:"items"`
}

// MigrationTemplate is stamped out once per selected Mailbox. The PST source's path and claim name, and the
// IMAP source's login, may use {{.Login}}, {{.Address}}, {{.LocalPart}} and {{.Name}} (the Mailbox's name),
// replaced literally; nothing else may stand between {{ and }}.
// +kubebuilder:validation:XValidation:rule="!has(self.spec.source.pst) || !self.spec.source.pst.path.replace('{{.Login}}', '_').replace('{{.Address}}', '_').replace('{{.LocalPart}}', '_').replace('{{.Name}}', '_').contains('{{')",message="spec.source.pst.path: only the placeholders {{.Login}}, {{.Address}}, {{.LocalPart}} and {{.Name}} may appear between {{ and }}"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.source.pst) || !has(self.spec.source.pst.volume.persistentVolumeClaim) || (size(self.spec.source.pst.volume.persistentVolumeClaim.claimName) <= 253 && !self.spec.source.pst.volume.persistentVolumeClaim.claimName.replace('{{.Login}}', '_').replace('{{.Address}}', '_').replace('{{.LocalPart}}', '_').replace('{{.Name}}', '_').contains('{{'))",message="spec.source.pst.volume.persistentVolumeClaim.claimName: at most 253 characters, and only the placeholders {{.Login}}, {{.Address}}, {{.LocalPart}} and {{.Name}} may appear between {{ and }}"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.source.imap) || !has(self.spec.source.imap.login) || !self.spec.source.imap.login.replace('{{.Login}}', '_').replace('{{.Address}}', '_').replace('{{.LocalPart}}', '_').replace('{{.Name}}', '_').contains('{{')",message="spec.source.imap.login: only the placeholders {{.Login}}, {{.Address}}, {{.LocalPart}} and {{.Name}} may appear between {{ and }}"
type MigrationTemplate struct {
	// Labels and annotations for the generated MailboxMigrations.
	// +optional
	Metadata TemplateMetadata `json:"metadata,omitempty"`
	// Spec of each MailboxMigration, without its mailboxRef.
	Spec MigrationSettings `json:"spec"`
}

// TemplateMetadata is the part of object metadata a template may set.
type TemplateMetadata struct {
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// MigrationBatchSpec migrates every Mailbox that matches a selector.
type MigrationBatchSpec struct {
	// Selector picks Mailboxes in the batch's namespace by label. A Mailbox labelled later joins the batch.
	Selector metav1.LabelSelector `json:"selector"`
	// Template for each MailboxMigration.
	Template MigrationTemplate `json:"template"`
	// MaxParallel is how many migrations run at once.
	// +optional
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MaxParallel int32 `json:"maxParallel,omitempty"`
	// Suspend stops starting new migrations and suspends running ones.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// MigrationBatchStatus aggregates the batch's migrations.
type MigrationBatchStatus struct {
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	Total      int32              `json:"total,omitempty"`
	Pending    int32              `json:"pending,omitempty"`
	Running    int32              `json:"running,omitempty"`
	Succeeded  int32              `json:"succeeded,omitempty"`
	Failed     int32              `json:"failed,omitempty"`
	// +optional
	BytesCopied int64 `json:"bytesCopied,omitempty"`
	// +optional
	BytesTotal int64 `json:"bytesTotal,omitempty"`
	// +optional
	ETA *metav1.Time `json:"eta,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=mbatch,categories=mailshift
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Total",type=integer,JSONPath=`.status.total`
// +kubebuilder:printcolumn:name="Running",type=integer,JSONPath=`.status.running`
// +kubebuilder:printcolumn:name="Succeeded",type=integer,JSONPath=`.status.succeeded`
// +kubebuilder:printcolumn:name="Failed",type=integer,JSONPath=`.status.failed`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// MigrationBatch migrates many mailboxes, a bounded number at a time.
type MigrationBatch struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   MigrationBatchSpec   `json:"spec"`
	Status MigrationBatchStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// MigrationBatchList is a list of MigrationBatches.
type MigrationBatchList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MigrationBatch `json:"items"`
}

func init() {
	SchemeBuilder.Register(&MailboxMigration{}, &MailboxMigrationList{}, &MigrationBatch{}, &MigrationBatchList{})
}
