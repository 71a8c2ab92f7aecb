// Package humanize writes sizes for people: 18.0 MiB. The CLI's
// summaries and the HTML report say sizes the same way through it.
package humanize
