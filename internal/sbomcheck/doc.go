// Package sbomcheck validates SBOMs against the published JSON schemas
// of SPDX 2.3 and CycloneDX 1.5, embedded from schemas/ (see its
// README for where each comes from), with the identifier and date
// patterns that SPDX 2.3.1's schema added. Only tests use it.
package sbomcheck
