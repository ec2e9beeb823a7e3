{{/*
The base name of the release's objects: fullnameOverride, else the release name when it already says
"mailshift", else "<release>-mailshift". Cut to 40 characters so that suffixes such as "-leader-election"
keep names within 63.
*/}}
{{- define "mailshift.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else if contains "mailshift" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-mailshift" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels that select the manager Pods; they never change across upgrades. */}}
{{- define "mailshift.selectorLabels" -}}
app.kubernetes.io/name: mailshift
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: manager
{{- end -}}

{{/* Labels of every object of the release. */}}
{{- define "mailshift.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: mailshift
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mailshift
{{- end -}}

{{/* The manager's ServiceAccount. */}}
{{- define "mailshift.serviceAccountName" -}}
{{- include "mailshift.fullname" . -}}
{{- end -}}

{{/* The manager's image: repository:tag, with @digest when one is given. */}}
{{- define "mailshift.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
The rules of a generated Role file (files/rbac/*.yaml, copies of config/rbac), as a YAML list.
Arguments: (list $ "files/rbac/manager.yaml" scope), scope "all", "namespaced" (rules without cluster-scoped
resources, for Roles) or "cluster" (only the cluster-scoped resources, for the ClusterRole that namespaced
installs still need). An empty result is "[]".
*/}}
{{- define "mailshift.rules" -}}
{{- $root := index . 0 -}}
{{- $file := index . 1 -}}
{{- $scope := index . 2 -}}
{{- $clusterScoped := list "persistentvolumes" "nodes" "namespaces" "storageclasses" -}}
{{- $role := $root.Files.Get $file | fromYaml -}}
{{- $out := list -}}
{{- range $rule := $role.rules -}}
{{- $kept := list -}}
{{- range $res := $rule.resources -}}
{{- $isCluster := has $res $clusterScoped -}}
{{- if or (eq $scope "all") (and (eq $scope "cluster") $isCluster) (and (eq $scope "namespaced") (not $isCluster)) -}}
{{- $kept = append $kept $res -}}
{{- end -}}
{{- end -}}
{{- if $kept -}}
{{- $out = append $out (dict "apiGroups" $rule.apiGroups "resources" $kept "verbs" $rule.verbs) -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* The generated rules file of the executor's own rights. */}}
{{- define "mailshift.executorRulesFile" -}}
{{- if eq .Values.executor "inprocess" -}}files/rbac/inprocess.yaml{{- else -}}files/rbac/jobexecutor.yaml{{- end -}}
{{- end -}}

{{/* Every rule the manager needs for the resources it reconciles, for scope "all", "namespaced" or "cluster". */}}
{{- define "mailshift.managerRules" -}}
{{- $root := index . 0 -}}
{{- $scope := index . 1 -}}
{{- $manager := include "mailshift.rules" (list $root "files/rbac/manager.yaml" $scope) | fromYamlArray -}}
{{- $executor := include "mailshift.rules" (list $root (include "mailshift.executorRulesFile" $root) $scope) | fromYamlArray -}}
{{- toYaml (concat $manager $executor) -}}
{{- end -}}
