// Package loggyreceiver collects Kubernetes container logs from a node's
// /var/log/containers and /var/log/pods and emits them as OTLP log records.
//
//go:generate go tool mdatagen metadata.yaml
package loggyreceiver
