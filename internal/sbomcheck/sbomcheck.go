package sbomcheck

import (
	"bytes"
	"embed"
	"regexp"

	"github.com/pkg/errors"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed schemas/*.json
var schemas embed.FS

// Validate checks data against the schema of format: "spdx" (SPDX 2.3)
// or "cyclonedx" (CycloneDX 1.5).
func Validate(format string, data []byte) error {
	c := jsonschema.NewCompiler()
	add := func(url, file string) error {
		f, err := schemas.ReadFile("schemas/" + file)
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(f))
		if err != nil {
			return errors.Wrapf(err, "reading the schema %s", file)
		}
		return c.AddResource(url, doc)
	}
	main := "http://spdx.org/rdf/terms/2.3"
	files := map[string]string{main: "spdx-2.3.schema.json"}
	if format == "cyclonedx" {
		main = "http://cyclonedx.org/schema/bom-1.5.schema.json"
		files = map[string]string{
			main: "cyclonedx-1.5.schema.json",
			"http://cyclonedx.org/schema/spdx.schema.json":     "cyclonedx-spdx.schema.json",
			"http://cyclonedx.org/schema/jsf-0.82.schema.json": "cyclonedx-jsf-0.82.schema.json",
		}
	}
	for url, file := range files {
		if err := add(url, file); err != nil {
			return err
		}
	}
	sch, err := c.Compile(main)
	if err != nil {
		return errors.Wrap(err, "compiling the schema")
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return errors.Wrap(err, "reading the SBOM")
	}
	if err := sch.Validate(inst); err != nil {
		return err
	}
	if format != "cyclonedx" {
		return spdxPatterns(inst, "")
	}
	return nil
}

// The patterns SPDX 2.3.1's schema adds to 2.3's: identifiers and
// dates.
var (
	spdxID   = regexp.MustCompile(`^SPDXRef-[a-zA-Z0-9.-]+$`)
	spdxDate = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]|23:59:60)Z$`)
)

func spdxPatterns(v any, key string) error {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if err := spdxPatterns(e, k); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := spdxPatterns(e, key); err != nil {
				return err
			}
		}
	case string:
		switch key {
		case "SPDXID", "spdxElementId", "relatedSpdxElement":
			if !spdxID.MatchString(x) {
				return errors.Errorf("%s %q: expected SPDXRef-[a-zA-Z0-9.-]+", key, x)
			}
		case "created", "annotationDate":
			if !spdxDate.MatchString(x) {
				return errors.Errorf("%s %q: expected a UTC time such as 2023-11-14T22:13:20Z", key, x)
			}
		}
	}
	return nil
}
