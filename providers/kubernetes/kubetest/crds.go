package kubetest

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"time"

	"gopkg.in/yaml.v3"
)

// crdFiles are the CRDs Start installs; crds/README.md says where each comes
// from.
//
//go:embed crds/*.yaml
var crdFiles embed.FS

// crd is what Start needs of a CustomResourceDefinition.
type crd struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Group string `json:"group"`
		Names struct {
			Plural string `json:"plural"`
		} `json:"names"`
		Versions []struct {
			Name    string `json:"name"`
			Served  bool   `json:"served"`
			Storage bool   `json:"storage"`
		} `json:"versions"`
	} `json:"spec"`
	Status struct {
		Conditions []struct {
			Type    string `json:"type"`
			Status  string `json:"status"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"conditions"`
	} `json:"status"`
}

const crdsPath = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"

// installCRDs creates every embedded CRD, then waits until each is
// Established and lists of its resources are served in each served version.
func (c *Cluster) installCRDs(ctx context.Context) error {
	docs, err := crdDocuments()
	if err != nil {
		return err
	}
	var created []crd
	for _, doc := range docs {
		var d crd
		if err := json.Unmarshal(doc, &d); err != nil {
			return err
		}
		status, resp, err := c.do(ctx, http.MethodPost, crdsPath, "application/json", doc)
		if err != nil {
			return err
		}
		if status != http.StatusCreated {
			return statusError(http.MethodPost, crdsPath, status, resp)
		}
		created = append(created, d)
	}
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for _, d := range created {
		for {
			done, why := c.crdReady(ctx, d)
			if done {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("CRD %s not ready after %s: %s", d.Metadata.Name, readyTimeout, why)
			case <-ticker.C:
			}
		}
	}
	return nil
}

// crdReady reports whether d is Established and lists of its resources are
// served, and if not, why.
func (c *Cluster) crdReady(ctx context.Context, d crd) (bool, string) {
	path := crdsPath + "/" + d.Metadata.Name
	status, body, err := c.do(ctx, http.MethodGet, path, "", nil)
	if err != nil {
		return false, err.Error()
	}
	if status != http.StatusOK {
		return false, statusError(http.MethodGet, path, status, body).Error()
	}
	var got crd
	if err := json.Unmarshal(body, &got); err != nil {
		return false, err.Error()
	}
	established := false
	why := "no Established condition yet"
	for _, cond := range got.Status.Conditions {
		if cond.Type == "Established" {
			established = cond.Status == "True"
			why = fmt.Sprintf("Established is %s: %s %s", cond.Status, cond.Reason, cond.Message)
		}
	}
	if !established {
		return false, why
	}
	for _, v := range d.Spec.Versions {
		if !v.Served {
			continue
		}
		list := "/apis/" + d.Spec.Group + "/" + v.Name + "/" + d.Spec.Names.Plural
		status, body, err := c.do(ctx, http.MethodGet, list, "", nil)
		if err != nil {
			return false, err.Error()
		}
		if status != http.StatusOK {
			return false, statusError(http.MethodGet, list, status, body).Error()
		}
	}
	return true, ""
}

// crdDocuments returns each YAML document of the embedded CRD files, in
// the files' order, as JSON.
func crdDocuments() ([][]byte, error) {
	files, err := fs.Glob(crdFiles, "crds/*.yaml")
	if err != nil {
		return nil, err
	}
	var docs [][]byte
	for _, name := range files {
		b, err := crdFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if doc == nil {
				continue
			}
			j, err := json.Marshal(doc)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			docs = append(docs, j)
		}
	}
	if len(docs) == 0 {
		return nil, errors.New("no CRDs embedded")
	}
	return docs, nil
}
