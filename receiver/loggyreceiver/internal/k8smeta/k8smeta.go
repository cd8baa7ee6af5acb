// Package k8smeta adds what the Kubernetes API knows about a pod (labels,
// selected annotations, owning workload, node) to its log records, from an
// informer limited to this node's pods.
package k8smeta

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// ExcludeAnnotation set to "true" on a pod keeps its logs out.
const ExcludeAnnotation = "loggy.io/exclude"

// Config is the receiver's k8s_metadata section.
type Config struct {
	// Enabled turns the lookup on; it needs RBAC to list and watch pods.
	Enabled bool `mapstructure:"enabled"`
	// NodeName limits the watch to this node's pods; empty takes K8S_NODE_NAME.
	NodeName string `mapstructure:"node_name"`
	// Annotations lists the annotation keys copied to k8s.pod.annotation.<key>.
	Annotations []string `mapstructure:"annotations"`
	// DeletedTTL keeps a deleted pod's metadata for its last lines.
	DeletedTTL time.Duration `mapstructure:"deleted_ttl"`
	// Kubeconfig is a kubeconfig file; empty uses the in-cluster service account.
	Kubeconfig string `mapstructure:"kubeconfig"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Validate checks the settings that matter when enabled.
func (c Config) Validate() error {
	if c.Enabled && c.DeletedTTL < 0 {
		return errors.New("k8s_metadata: deleted_ttl must not be negative")
	}
	return nil
}

// Meta is what the API adds to a pod's records.
type Meta struct {
	Labels, Annotations                                          map[string]string
	NodeName                                                     string
	ReplicaSet, Deployment, StatefulSet, DaemonSet, Job, CronJob string
	Exclude                                                      bool
}

type entry struct {
	meta    Meta
	deleted time.Time
}

// Cache holds the metadata of this node's pods by uid.
type Cache struct {
	client   kubernetes.Interface
	cfg      Config
	logger   *zap.Logger
	now      func() time.Time
	mu       sync.RWMutex
	pods     map[string]*entry
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// New builds the cache on a clientset.
func New(client kubernetes.Interface, cfg Config, logger *zap.Logger) *Cache {
	if cfg.DeletedTTL == 0 {
		cfg.DeletedTTL = 2 * time.Minute
	}
	return &Cache{client: client, cfg: cfg, logger: logger, now: time.Now, pods: map[string]*entry{}}
}

// NewFromConfig connects with the in-cluster service account or a kubeconfig.
func NewFromConfig(cfg Config, logger *zap.Logger) (*Cache, error) {
	var rc *rest.Config
	var err error
	if cfg.Kubeconfig != "" {
		rc, err = clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig)
	} else {
		rc, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	return New(client, cfg, logger), nil
}

// Start runs the informer and waits up to syncWait for the first list; after
// that records go out without API metadata rather than wait.
func (c *Cache) Start(ctx context.Context, syncWait time.Duration) {
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	factory := informers.NewSharedInformerFactoryWithOptions(c.client, 10*time.Minute,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			if c.cfg.NodeName != "" {
				o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", c.cfg.NodeName).String()
			}
		}))
	inf := factory.Core().V1().Pods().Informer()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.put(obj) },
		UpdateFunc: func(_, obj any) { c.put(obj) },
		DeleteFunc: c.deleted,
	})
	go func() {
		defer close(c.done)
		inf.Run(c.stop)
	}()
	wait, cancel := context.WithTimeout(ctx, syncWait)
	defer cancel()
	if !cache.WaitForCacheSync(wait.Done(), inf.HasSynced) {
		c.logger.Warn("Pod metadata not synced yet; records go out without it until it is", zap.Duration("waited", syncWait))
	}
}

// Stop ends the informer.
func (c *Cache) Stop() {
	if c.stop == nil {
		return
	}
	c.stopOnce.Do(func() { close(c.stop) })
	<-c.done
}

// Lookup returns the metadata of the pod with this uid.
func (c *Cache) Lookup(uid string) (Meta, bool) {
	c.mu.RLock()
	e, ok := c.pods[uid]
	c.mu.RUnlock()
	if !ok {
		return Meta{}, false
	}
	if !e.deleted.IsZero() && c.now().Sub(e.deleted) > c.cfg.DeletedTTL {
		c.mu.Lock()
		delete(c.pods, uid)
		c.mu.Unlock()
		return Meta{}, false
	}
	return e.meta, true
}

func (c *Cache) put(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || (c.cfg.NodeName != "" && pod.Spec.NodeName != c.cfg.NodeName) {
		return
	}
	m := Meta{Labels: pod.Labels, NodeName: pod.Spec.NodeName, Exclude: pod.Annotations[ExcludeAnnotation] == "true"}
	for _, k := range c.cfg.Annotations {
		if v, ok := pod.Annotations[k]; ok {
			if m.Annotations == nil {
				m.Annotations = map[string]string{}
			}
			m.Annotations[k] = v
		}
	}
	for _, o := range pod.OwnerReferences {
		switch o.Kind {
		case "ReplicaSet":
			m.ReplicaSet = o.Name
			// A Deployment names its ReplicaSets <deployment>-<pod-template-hash>.
			if h := pod.Labels["pod-template-hash"]; h != "" {
				if d, ok := strings.CutSuffix(o.Name, "-"+h); ok {
					m.Deployment = d
				}
			}
		case "StatefulSet":
			m.StatefulSet = o.Name
		case "DaemonSet":
			m.DaemonSet = o.Name
		case "Job":
			m.Job = o.Name
			// A CronJob names its Jobs <cronjob>-<scheduled time in minutes>.
			if i := strings.LastIndexByte(o.Name, '-'); i > 0 && digits(o.Name[i+1:]) {
				m.CronJob = o.Name[:i]
			}
		}
	}
	c.mu.Lock()
	c.pods[string(pod.UID)] = &entry{meta: m}
	c.mu.Unlock()
}

func (c *Cache) deleted(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	c.mu.Lock()
	if e, ok := c.pods[string(pod.UID)]; ok {
		e.deleted = c.now()
	}
	c.mu.Unlock()
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// PutResource adds meta's attributes under semantic-convention names.
func PutResource(m pcommon.Map, meta Meta) {
	for k, v := range meta.Labels {
		m.PutStr("k8s.pod.label."+k, v)
	}
	for k, v := range meta.Annotations {
		m.PutStr("k8s.pod.annotation."+k, v)
	}
	for k, v := range map[string]string{
		"k8s.node.name": meta.NodeName, "k8s.replicaset.name": meta.ReplicaSet, "k8s.deployment.name": meta.Deployment,
		"k8s.statefulset.name": meta.StatefulSet, "k8s.daemonset.name": meta.DaemonSet, "k8s.job.name": meta.Job,
		"k8s.cronjob.name": meta.CronJob,
	} {
		if v != "" {
			m.PutStr(k, v)
		}
	}
}
