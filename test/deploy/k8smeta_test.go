package deploy

import (
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// TestK8sMetadataComponent: deploy/components/k8s-metadata (built through
// deploy/overlays/example-k8s-metadata) grants read access to pods and nothing
// else, to the agent's own service account, mounts its token, and turns the
// receiver's k8s_metadata on; the base and the example overlay grant nothing.
func TestK8sMetadataComponent(t *testing.T) {
	for _, dir := range kustomizations {
		if r := build(t, dir); len(r.clusterRoles)+len(r.roleBindings) > 0 {
			t.Errorf("%s: grants API access; only the k8s-metadata component may", dir)
		}
	}
	r := build(t, "deploy/overlays/example-k8s-metadata")
	ds := agent(t, r)
	if a := ds.Spec.Template.Spec.AutomountServiceAccountToken; a == nil || !*a {
		t.Error("the DaemonSet must mount the service account token for the informer")
	}
	if got := r.configMaps[ds.Namespace+"/"+envConfigMapName(t, r)].Data["LOGGY_K8S_METADATA"]; got != "true" {
		t.Errorf("loggy-env LOGGY_K8S_METADATA = %q, want true", got)
	}
	if len(r.clusterRoles) != 1 || len(r.roleBindings) != 1 {
		t.Fatalf("want one ClusterRole and one ClusterRoleBinding, got %d and %d", len(r.clusterRoles), len(r.roleBindings))
	}
	for _, role := range r.clusterRoles {
		want := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}}}
		if len(role.Rules) != 1 || !slices.Equal(role.Rules[0].APIGroups, want[0].APIGroups) ||
			!slices.Equal(role.Rules[0].Resources, want[0].Resources) || !slices.Equal(role.Rules[0].Verbs, want[0].Verbs) {
			t.Errorf("ClusterRole %s rules = %+v, want only get/list/watch on pods", role.Name, role.Rules)
		}
		for _, b := range r.roleBindings {
			if b.RoleRef.Kind != "ClusterRole" || b.RoleRef.Name != role.Name {
				t.Errorf("ClusterRoleBinding %s refers to %s %s, want ClusterRole %s", b.Name, b.RoleRef.Kind, b.RoleRef.Name, role.Name)
			}
			if len(b.Subjects) != 1 || b.Subjects[0].Kind != "ServiceAccount" ||
				b.Subjects[0].Name != ds.Spec.Template.Spec.ServiceAccountName || b.Subjects[0].Namespace != ds.Namespace {
				t.Errorf("ClusterRoleBinding %s subjects = %+v, want the DaemonSet's service account %s/%s",
					b.Name, b.Subjects, ds.Namespace, ds.Spec.Template.Spec.ServiceAccountName)
			}
		}
	}
}

// envConfigMapName finds the generated (hashed) name of loggy-env.
func envConfigMapName(t *testing.T, r *rendered) string {
	t.Helper()
	for _, cm := range r.configMaps {
		if _, ok := cm.Data["OTLP_ENDPOINT"]; ok {
			return cm.Name
		}
	}
	t.Fatal("no loggy-env ConfigMap")
	return ""
}
