package dingtalk

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Rule names the constraint a [ValidationError] reports. The values are
// stable strings, fit to be passed on to API callers.
type Rule string

// The rules a message or a work notice can break.
const (
	// RuleRequired: the field must be present and non-empty. Others, when
	// set, lists fields any one of which would have done instead.
	RuleRequired Rule = "required"
	// RuleOneOf: the value must be one of Allowed.
	RuleOneOf Rule = "one_of"
	// RuleMaxLength: at most Limit characters (Unicode code points, as
	// DingTalk counts 字符).
	RuleMaxLength Rule = "max_length"
	// RuleMaxBytes: at most Limit bytes once encoded as JSON.
	RuleMaxBytes Rule = "max_bytes"
	// RuleMaxCount: at most Limit items.
	RuleMaxCount Rule = "max_count"
	// RuleFormat: the value is not in the form DingTalk expects (Format
	// describes it).
	RuleFormat Rule = "format"
	// RuleExclusive: the field must not be set together with Others.
	RuleExclusive Rule = "exclusive"
	// RuleMention: an @-mention is not written as "@…" in the text, or the
	// message type cannot @-mention anyone.
	RuleMention Rule = "mention"
)

// ValidationError says which field of a message or work notice breaks which
// of DingTalk's rules. Validate methods and the Send methods that call them
// return it (wrapped); find it with errors.As. Nothing was sent.
type ValidationError struct {
	// Field is the JSON path of the field as DingTalk spells it, e.g.
	// "userid_list", "msg.link.messageUrl",
	// "msg.action_card.btn_json_list[1].title" or "at.atMobiles".
	Field string
	// Rule is the constraint the field breaks.
	Rule Rule
	// Limit is the bound of RuleMaxLength, RuleMaxBytes and RuleMaxCount;
	// Actual is the measured length, size or count.
	Limit, Actual int
	// Allowed lists the accepted values of RuleOneOf.
	Allowed []string
	// Format describes the expected form for RuleFormat.
	Format string
	// Others names the related fields of RuleExclusive and RuleRequired.
	Others []string
	// Detail is a human-readable explanation.
	Detail string
}

// Error names the field and explains the rule.
func (e *ValidationError) Error() string {
	return e.Field + ": " + e.Detail
}

// within returns a copy of e whose Field and Others are nested under
// prefix.
func (e *ValidationError) within(prefix string) *ValidationError {
	c := *e
	c.Field = prefix + "." + e.Field
	c.Others = make([]string, len(e.Others))
	for i, o := range e.Others {
		c.Others[i] = prefix + "." + o
	}
	return &c
}

func required(field, detail string, others ...string) *ValidationError {
	if detail == "" {
		detail = "required"
	}
	return &ValidationError{Field: field, Rule: RuleRequired, Others: others, Detail: detail}
}

func oneOf(field, got string, allowed ...string) *ValidationError {
	return &ValidationError{Field: field, Rule: RuleOneOf, Allowed: allowed,
		Detail: fmt.Sprintf("%q is not one of %s", got, strings.Join(allowed, ", "))}
}

// maxLength checks a length in characters.
func maxLength(field, v string, limit int) *ValidationError {
	n := utf8.RuneCountInString(v)
	if n <= limit {
		return nil
	}
	return &ValidationError{Field: field, Rule: RuleMaxLength, Limit: limit, Actual: n,
		Detail: fmt.Sprintf("%d characters, more than %d", n, limit)}
}

func maxCount(field string, n, limit int, what string) *ValidationError {
	if n <= limit {
		return nil
	}
	return &ValidationError{Field: field, Rule: RuleMaxCount, Limit: limit, Actual: n,
		Detail: fmt.Sprintf("%d %s, more than %d", n, what, limit)}
}

func exclusive(field, detail string, others ...string) *ValidationError {
	return &ValidationError{Field: field, Rule: RuleExclusive, Others: others, Detail: detail}
}

// firstErr returns the first non-nil error, so a list of checks reads as a
// list.
func firstErr(errs ...*ValidationError) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// nonEmpty returns a RuleRequired error for the first empty value among
// pairs of (field, value), explaining with detail.
func nonEmpty(detail string, fieldValues ...string) *ValidationError {
	for i := 0; i+1 < len(fieldValues); i += 2 {
		if fieldValues[i+1] == "" {
			return required(fieldValues[i], detail)
		}
	}
	return nil
}
