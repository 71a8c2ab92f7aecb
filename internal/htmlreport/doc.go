// Package htmlreport renders scratchpack's report as one self-contained
// HTML page: a treemap of the image by package and directory (inline
// SVG, squarified layout computed here), the packages table, why each
// file is there, the secret-scan findings and the sizes before and after.
//
// The page loads nothing: no script, style sheet, font or image comes
// from anywhere but the page itself, and it reads fully without
// JavaScript (tooltips are SVG titles, directories fold with <details>).
// The same Page renders to the same bytes.
//
// The package knows nothing of scratchpack's other packages: the caller
// fills a Page, a plain data model, so that this package sits below
// everything that uses it.
package htmlreport
