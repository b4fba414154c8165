package ovo

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// TimeLayout is what oslo's DateTime.to_primitive emits (_utils.isotime of an
// aware UTC datetime): seconds precision, a literal Z.
const TimeLayout = "2006-01-02T15:04:05Z"

// FormatTime renders t as oslo's DateTime.to_primitive does: in UTC, without
// sub-second digits. Years outside 1..9999 (which Python's datetime cannot
// hold) are an error.
func FormatTime(t time.Time) (string, error) {
	u := t.UTC()
	if y := u.Year(); y < 1 || y > 9999 {
		return "", fmt.Errorf("%w: year %d is outside 1..9999", ErrInvalid, y)
	}
	return u.Format(TimeLayout), nil
}

// iso8601Pattern is python3-iso8601 1.0.2's ISO8601_REGEX (what oslo's
// DateTime.from_primitive parses with, through timeutils.parse_isotime), with
// its one look-ahead, "(?!$)" after a dash-less month, checked in ParseTime
// instead, and Python's "$" (end, or before a final newline) spelled out.
var iso8601Pattern = regexp.MustCompile(`^(?P<year>[0-9]{4})(((-(?P<monthdash>[0-9]{1,2}))|(?P<month>[0-9]{2}))(((-(?P<daydash>[0-9]{1,2}))|(?P<day>[0-9]{2}))(((?P<separator>[ T])(?P<hour>[0-9]{2})(:{0,1}(?P<minute>[0-9]{2})){0,1}(:{0,1}(?P<second>[0-9]{1,2})([.,](?P<second_fraction>[0-9]+)){0,1}){0,1}(?P<timezone>Z|((?P<tz_sign>[-+])(?P<tz_hour>[0-9]{2}):{0,1}(?P<tz_minute>[0-9]{2}){0,1})){0,1}){0,1})){0,1}){0,1}\n?$`)

var isoGroup = func() map[string]int {
	m := map[string]int{}
	for i, n := range iso8601Pattern.SubexpNames() {
		if n != "" {
			m[n] = i
		}
	}
	return m
}()

// ParseTime accepts what oslo's DateTime.from_primitive accepts: ISO 8601 as
// python3-iso8601 parses it ("2026-12-01T08:00:00Z", "2026-12-01 08:00:00.5+01:00",
// "2026-12-01", "20261201T0800", ...; no zone means UTC). The result is in UTC,
// to the microsecond, as Python keeps it.
func ParseTime(s string) (time.Time, error) {
	m := iso8601Pattern.FindStringSubmatchIndex(s)
	if m == nil {
		return time.Time{}, fmt.Errorf("%w: unable to parse date string %q", ErrInvalid, s)
	}
	group := func(name string) (string, bool) {
		i := isoGroup[name]
		if m[2*i] < 0 {
			return "", false
		}
		return s[m[2*i]:m[2*i+1]], true
	}
	num := func(name string, def int) int {
		g, ok := group(name)
		if !ok {
			return def
		}
		n, _ := strconv.Atoi(g)
		return n
	}
	if i := isoGroup["month"]; m[2*i] >= 0 && (m[2*i+1] == len(s) || s[m[2*i+1]:] == "\n") {
		return time.Time{}, fmt.Errorf("%w: unable to parse date string %q", ErrInvalid, s)
	}
	year := num("year", 0)
	month := num("month", num("monthdash", 1))
	day := num("day", num("daydash", 1))
	hour, minute, sec := num("hour", 0), num("minute", 0), num("second", 0)
	usec := 0
	if f, ok := group("second_fraction"); ok {
		f += "000000"
		usec, _ = strconv.Atoi(f[:6])
	}
	if year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) ||
		hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, fmt.Errorf("%w: date string %q is out of range", ErrInvalid, s)
	}
	loc := time.UTC
	if tz, ok := group("timezone"); ok && tz != "Z" {
		off := num("tz_hour", 0)*3600 + num("tz_minute", 0)*60
		if off >= 24*3600 {
			return time.Time{}, fmt.Errorf("%w: time zone of %q is out of range", ErrInvalid, s)
		}
		if g, _ := group("tz_sign"); g == "-" {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, usec*1000, loc).UTC(), nil
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
