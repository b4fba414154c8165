package policy

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// WriteSample writes defaults as oslopolicy-sample-generator writes a
// policy.yaml sample: each rule commented out at its default, after its
// description, operations and intended scopes, with oslo's notes on
// deprecated rules. An operator uncomments and edits the rules to change.
//
//	policy.WriteSample(os.Stdout, policies.Defaults())
//
// Descriptions are wrapped at 70 columns as Python's textwrap does, except
// that words are not broken at hyphens.
func WriteSample(w io.Writer, defaults []RuleDefault) error {
	var b strings.Builder
	for i := range defaults {
		b.WriteString(formatDefault(&defaults[i]))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// formatDefault is oslo's generator._format_rule_default_yaml with
// include_help, comment_rule and add_deprecated_rules.
func formatDefault(d *RuleDefault) string {
	text := fmt.Sprintf("\"%s\": \"%s\"\n", d.Name, d.CheckStr)
	var op strings.Builder
	for _, o := range d.Operations {
		if o.Method != "" && o.Path != "" {
			fmt.Fprintf(&op, "# %s  %s\n", o.Method, o.Path)
		}
	}
	scope := ""
	if d.ScopeTypes != nil {
		scope = "# Intended scope(s): " + strings.Join(d.ScopeTypes, ", ") + "\n"
	}
	text = op.String() + scope + "#" + text + "\n"
	if d.Description != "" {
		text = formatHelp(d.Description) + "\n" + text
	}
	switch {
	case d.DeprecatedForRemoval:
		text = fmt.Sprintf("# DEPRECATED\n# \"%s\" has been deprecated since %s.\n%s\n%s",
			d.Name, d.DeprecatedSince, formatHelp(d.DeprecatedReason), text)
	case d.DeprecatedRule != nil:
		dr := d.DeprecatedRule
		reason, since := dr.Reason, dr.Since
		if reason == "" {
			reason = d.DeprecatedReason
		}
		if since == "" {
			since = d.DeprecatedSince
		}
		dep := fmt.Sprintf("\"%s\":\"%s\" has been deprecated since %s in favor of \"%s\":\"%s\".",
			dr.Name, dr.CheckStr, since, d.Name, d.CheckStr)
		text += "# DEPRECATED\n" + formatHelp(dep) + "\n" + formatHelp(reason) + "\n"
		if d.Name != dr.Name {
			text += "# WARNING: A rule name change has been identified.\n" +
				"#          This may be an artifact of new rules being\n" +
				"#          included which require legacy fallback\n" +
				"#          rules to ensure proper policy behavior.\n" +
				"#          Alternatively, this may just be an alias.\n" +
				"#          Please evaluate on a case by case basis\n" +
				"#          keeping in mind the format for aliased\n" +
				"#          rules is:\n" +
				"#          \"old_rule_name\": \"new_rule_name\".\n"
			text += fmt.Sprintf("# \"%s\": \"rule:%s\"\n", dr.Name, d.Name)
		}
		text += "\n"
	}
	return text
}

// formatHelp is oslo's generator._format_help_text: paragraphs wrapped at
// 70 columns behind "# ", indented lines kept as literal blocks.
func formatHelp(description string) string {
	if description == "" {
		return "#"
	}
	var out, para []string
	flush := func() {
		out = append(out, wrapText(strings.Join(para, " "), 70, "# ")...)
		para = nil
	}
	for _, line := range strings.Split(strings.TrimSpace(description), "\n") {
		line = strings.TrimSuffix(line, "\r")
		switch {
		case strings.TrimSpace(line) == "":
			flush()
			out = append(out, "#")
		case len(line) == len(strings.TrimLeft(line, " \t\n\r\v\f")):
			para = append(para, strings.TrimRight(line, " \t\n\r\v\f"))
		default:
			if len(para) > 0 {
				flush()
				out = append(out, "#")
			}
			out = append(out, "# "+strings.TrimRight(line, " \t\n\r\v\f"))
		}
	}
	if len(para) > 0 {
		flush()
	}
	return strings.Join(out, "\n")
}

// wrapText is textwrap.wrap(text, width, initial_indent=indent,
// subsequent_indent=indent) without hyphen breaking.
func wrapText(text string, width int, indent string) []string {
	text = strings.Map(func(r rune) rune {
		if strings.ContainsRune("\t\n\v\f\r", r) {
			return ' '
		}
		return r
	}, text)
	// chunks: runs of spaces and runs of non-spaces, in order.
	var chunks []string
	for i := 0; i < len(text); {
		j := i
		space := text[i] == ' '
		for j < len(text) && (text[j] == ' ') == space {
			j++
		}
		chunks = append(chunks, text[i:j])
		i = j
	}
	rl := utf8.RuneCountInString
	var lines []string
	avail := width - rl(indent)
	for len(chunks) > 0 {
		if strings.TrimSpace(chunks[0]) == "" && len(lines) > 0 {
			chunks = chunks[1:]
		}
		var cur []string
		n := 0
		for len(chunks) > 0 && n+rl(chunks[0]) <= avail {
			cur = append(cur, chunks[0])
			n += rl(chunks[0])
			chunks = chunks[1:]
		}
		if len(chunks) > 0 && rl(chunks[0]) > avail {
			left := avail - n
			if left < 1 {
				left = 1
			}
			r := []rune(chunks[0])
			if left > len(r) {
				left = len(r)
			}
			cur = append(cur, string(r[:left]))
			chunks[0] = string(r[left:])
		}
		if len(cur) > 0 && strings.TrimSpace(cur[len(cur)-1]) == "" {
			cur = cur[:len(cur)-1]
		}
		if len(cur) > 0 {
			lines = append(lines, indent+strings.Join(cur, ""))
		}
	}
	return lines
}
