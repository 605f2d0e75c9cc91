// Small text utilities shared by parsers and handlers: UTF-8 validation, trimming, hashing,
// base64url and hex. Plain functions, no allocation beyond the returned strings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace libromind::core {

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, max U+10FFFF).
bool is_valid_utf8(std::string_view s);

// Number of Unicode code points in a valid UTF-8 string.
size_t utf8_length(std::string_view s);

std::string_view trim(std::string_view s);
std::string to_lower_ascii(std::string_view s);
std::vector<std::string_view> split(std::string_view s, char sep);

// 64-bit FNV-1a: stable across platforms and releases (used for synthetic prices, ETags).
uint64_t fnv1a64(std::string_view s, uint64_t seed = 0xcbf29ce484222325ULL);

std::string hex(uint64_t v);

// Decodes `%XX` escapes (and `+` as a space when `plus_as_space`, as in query strings);
// nullopt on a `%` not followed by two hex digits. The result may hold any byte.
std::optional<std::string> percent_decode(std::string_view in, bool plus_as_space = false);
std::string base64url_encode(std::string_view in);
std::optional<std::string> base64url_decode(std::string_view in);

// 1..max_len characters of [A-Za-z0-9._:-]: the shape of request ids and public book ids.
bool is_safe_id(std::string_view s, size_t max_len);

// A user-supplied text field: valid UTF-8, no control characters (newlines and tabs only when
// `multiline`), at most `max_chars` code points; the error names `field`.
std::optional<std::string> plain_text_problem(std::string_view s, size_t max_chars, bool multiline);

// How deeply arrays and objects nest in a JSON text (brackets inside strings do not count);
// stops counting at `limit` + 1. Used to refuse hostile nesting before a parser recurses on it.
size_t json_nesting_depth(std::string_view json, size_t limit);

// Seconds since the Unix epoch, from the system clock.
int64_t unix_seconds();

// Parses a whole string as a base-10 integer / finite double; nullopt on any junk or overflow.
std::optional<int64_t> parse_int(std::string_view s);
std::optional<double> parse_double(std::string_view s);

}  // namespace libromind::core
