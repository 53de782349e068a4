// Command specstrip writes a copy of an OpenAPI 3.0 YAML document with its prose removed, so that
// code generated from it carries no text written by the specification's authors.
//
// It removes, everywhere in the document:
//   - `description` and `summary` values that are text (a schema property that happens to be named
//     "description" is kept: under `properties` the keys are names, not prose),
//   - `example` and `examples` (sample values, which often hold sentences),
//   - `externalDocs`, `termsOfService`, `contact` and `x-displayName`,
//   - YAML comments.
//
// Everything else (paths, operations, parameters, schemas, enums, x-scope) is kept as it is, in
// the same order. Output is deterministic: the same input always yields the same bytes.
//
// Usage:
//
//	specstrip -in spec.yaml -out stripped.yaml
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"

	"go.yaml.in/yaml/v3"
)

func main() {
	in := flag.String("in", "", "OpenAPI YAML file to read (required)")
	out := flag.String("out", "", "file to write; standard output when empty")
	ifPresent := flag.Bool("if-present", false, "when -in does not exist, keep -out as it is and succeed")
	flag.Parse()
	if *ifPresent && *out != "" {
		if _, err := os.Stat(*in); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(os.Stderr, "specstrip: %s not found (Kinde's spec lives beside the repository in shared/specs); keeping the committed %s\n", *in, *out)
			return
		}
	}
	if err := run(*in, *out, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "specstrip:", err)
		os.Exit(1)
	}
}

func run(in, out string, stdout io.Writer) error {
	if in == "" {
		return errors.New("missing -in: pass the OpenAPI YAML file to strip")
	}
	src, err := os.ReadFile(in)
	if err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	stripped, err := Strip(src)
	if err != nil {
		return fmt.Errorf("strip %s: %w", in, err)
	}
	if out == "" {
		_, err = stdout.Write(stripped)
		return err
	}
	if err := os.WriteFile(out, stripped, 0o644); err != nil {
		return fmt.Errorf("write stripped spec: %w", err)
	}
	return nil
}

// Strip returns src with its prose removed.
func Strip(src []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not an OpenAPI document: the top level must be a mapping")
	}
	root := doc.Content[0]
	strip(root, false)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	return buf.Bytes(), nil
}

// alwaysDropped are keys removed whatever their value holds.
var alwaysDropped = map[string]bool{
	"example":        true,
	"examples":       true,
	"externalDocs":   true,
	"termsOfService": true,
	"contact":        true,
	"x-displayName":  true,
}

// proseKeys are keys removed when their value is text.
var proseKeys = map[string]bool{
	"description": true,
	"summary":     true,
}

// strip removes prose from n in place. namesOnly is true when n is a mapping whose keys are
// names chosen by the spec (schema properties, path items, component names) rather than
// OpenAPI keywords.
func strip(n *yaml.Node, namesOnly bool) {
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	switch n.Kind {
	case yaml.MappingNode:
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if !namesOnly && dropped(k.Value, v) {
				continue
			}
			k.HeadComment, k.LineComment, k.FootComment = "", "", ""
			strip(v, !namesOnly && namedChildren(k.Value))
			kept = append(kept, k, v)
		}
		n.Content = kept
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			strip(c, false)
		}
	}
}

func dropped(key string, v *yaml.Node) bool {
	if alwaysDropped[key] {
		return true
	}
	return proseKeys[key] && v.Kind == yaml.ScalarNode
}

// namedChildren reports whether the value of key is a mapping keyed by user-chosen names.
func namedChildren(key string) bool {
	switch key {
	case "properties", "paths", "schemas", "responses", "parameters", "requestBodies",
		"headers", "securitySchemes", "links", "callbacks", "variables", "mapping":
		return true
	}
	return false
}
