// The stream parsers on their own: lines and events survive every chunk boundary, SSE framing,
// the event shapes of both APIs, and reasoning removal with tags split at every position.
#include "llm/stream_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace libromind::llm {
namespace {

std::vector<std::string> split_all(std::string_view input, const std::vector<size_t>& cuts,
                                   size_t max_line = kDefaultMaxLineBytes,
                                   bool* overflow = nullptr) {
  LineSplitter s(max_line);
  std::vector<std::string> lines;
  std::string line;
  size_t prev = 0;
  auto feed = [&](std::string_view chunk) {
    s.push(chunk);
    while (s.next(line)) lines.push_back(line);
  };
  for (size_t cut : cuts) {
    feed(input.substr(prev, cut - prev));
    prev = cut;
  }
  feed(input.substr(prev));
  while (s.finish(line)) lines.push_back(line);
  if (overflow != nullptr) *overflow = s.overflowed();
  return lines;
}

TEST(LineSplitter, GivesTheSameLinesWhereverTheInputIsCut) {
  const std::string input = "first\nsecond\r\n\nthird line\r\nlast without newline";
  const std::vector<std::string> expected = {"first", "second", "", "third line",
                                             "last without newline"};
  EXPECT_EQ(split_all(input, {}), expected);
  for (size_t a = 0; a <= input.size(); ++a) {
    EXPECT_EQ(split_all(input, {a}), expected) << "cut at " << a;
    for (size_t b = a; b <= input.size(); ++b) {
      ASSERT_EQ(split_all(input, {a, b}), expected) << "cuts at " << a << ", " << b;
    }
  }
}

TEST(LineSplitter, ByteByByteKeepsCrLfTogether) {
  const std::string input = "a\r\nb\r\n";
  std::vector<size_t> cuts;
  for (size_t i = 1; i < input.size(); ++i) cuts.push_back(i);
  EXPECT_EQ(split_all(input, cuts), (std::vector<std::string>{"a", "b"}));
}

TEST(LineSplitter, ALineOverTheLimitIsAnErrorAfterTheLinesBeforeIt) {
  bool overflow = false;
  auto lines = split_all("ok\n" + std::string(20, 'x') + "\nnever\n", {}, 10, &overflow);
  EXPECT_TRUE(overflow);
  EXPECT_EQ(lines, (std::vector<std::string>{"ok"}));
  // The same when the long line arrives a byte at a time and never ends.
  LineSplitter s(10);
  std::string line;
  for (int i = 0; i < 100 && !s.overflowed(); ++i) {
    s.push("y");
    EXPECT_FALSE(s.next(line));
  }
  EXPECT_TRUE(s.overflowed());
  s.push("\n");
  EXPECT_FALSE(s.next(line));
}

TEST(LineSplitter, ALineExactlyAtTheLimitPasses) {
  bool overflow = true;
  auto lines = split_all(std::string(10, 'x') + "\r\n" + std::string(10, 'y'), {5}, 10, &overflow);
  EXPECT_FALSE(overflow);
  EXPECT_EQ(lines, (std::vector<std::string>{std::string(10, 'x'), std::string(10, 'y')}));
}

TEST(SseDecoder, JoinsDataLinesAndDispatchesAtTheBlankLine) {
  SseDecoder d;
  EXPECT_FALSE(d.line(": keep-alive comment"));
  EXPECT_FALSE(d.line("event: message"));
  EXPECT_FALSE(d.line("id: 7"));
  EXPECT_FALSE(d.line("data: {\"a\":"));
  EXPECT_FALSE(d.line("data:1}"));
  auto e = d.line("");
  ASSERT_TRUE(e);
  EXPECT_EQ(*e, "{\"a\":\n1}");
  EXPECT_FALSE(d.line(""));  // no event without data
  EXPECT_FALSE(d.line("data:  two spaces"));
  EXPECT_EQ(d.finish(), std::optional<std::string>(" two spaces"));  // only one space is eaten
  EXPECT_FALSE(d.finish());
}

TEST(SseDecoder, AnEventOverTheLimitIsAnError) {
  SseDecoder d(16);
  EXPECT_FALSE(d.line("data: 0123456789"));
  EXPECT_FALSE(d.line("data: 0123456789"));
  EXPECT_TRUE(d.overflowed());
  EXPECT_FALSE(d.line(""));
}

TEST(EventShapes, OllamaContentThinkingAndDone) {
  bool bad = true;
  auto e =
      parse_ollama_line(R"({"message":{"role":"assistant","content":"Hi"},"done":false})", bad);
  ASSERT_TRUE(e);
  EXPECT_FALSE(bad);
  EXPECT_EQ(e->content, "Hi");
  EXPECT_FALSE(e->done);
  e = parse_ollama_line(R"({"message":{"content":"","thinking":"hmm"},"done":false})", bad);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->content, "");
  EXPECT_TRUE(e->reasoning);
  e = parse_ollama_line(R"({"done":true,"done_reason":"stop","eval_count":42,"message":{}})", bad);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->done);
  EXPECT_EQ(e->finish_reason, "stop");
  EXPECT_EQ(e->completion_tokens, 42);
  e = parse_ollama_line(R"({"error":"model 'x' not found"})", bad);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->error, "model 'x' not found");
  EXPECT_FALSE(parse_ollama_line("  ", bad));
  EXPECT_FALSE(bad);
  for (const char* junk : {"not json", "[1,2]", R"({"message":"str"})", "{\"a\":"}) {
    EXPECT_FALSE(parse_ollama_line(junk, bad)) << junk;
    EXPECT_TRUE(bad) << junk;
  }
  std::string deep = std::string(100, '[') + std::string(100, ']');
  EXPECT_FALSE(parse_ollama_line("{\"x\":" + deep + "}", bad));
  EXPECT_TRUE(bad);
}

TEST(EventShapes, OpenAiDeltaReasoningUsageDoneAndError) {
  bool bad = true;
  auto e = parse_openai_data(
      R"({"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]})",
      bad);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->content, "Hel");
  EXPECT_FALSE(e->reasoning);
  e = parse_openai_data(R"({"choices":[{"delta":{"reasoning_content":"let me think"}}]})", bad);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->content, "");
  EXPECT_TRUE(e->reasoning);
  e = parse_openai_data(R"({"choices":[{"delta":{"content":null}}]})", bad);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->content, "");
  e = parse_openai_data(R"({"choices":[{"delta":{},"finish_reason":"length"}]})", bad);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->finish_reason, "length");
  EXPECT_FALSE(e->done);
  e = parse_openai_data(R"({"choices":[],"usage":{"completion_tokens":9}})", bad);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->completion_tokens, 9);
  e = parse_openai_data(" [DONE] ", bad);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->done);
  e = parse_openai_data(R"({"error":{"message":"context too long","type":"invalid_request"}})",
                        bad);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->error, "context too long");
  EXPECT_FALSE(parse_openai_data(R"({"choices":{}})", bad));
  EXPECT_TRUE(bad);
}

std::vector<StreamEvent> decode_all(Api api, std::string_view body, const std::vector<size_t>& cuts,
                                    std::string* error = nullptr) {
  StreamDecoder d(api, 4096);
  std::vector<StreamEvent> out;
  size_t prev = 0;
  bool ok = true;
  for (size_t cut : cuts) {
    ok = ok && d.feed(body.substr(prev, cut - prev), out);
    prev = cut;
  }
  ok = ok && d.feed(body.substr(prev), out);
  ok = ok && d.finish(out);
  if (error != nullptr) *error = ok ? "" : d.error();
  return out;
}

std::string contents(const std::vector<StreamEvent>& events) {
  std::string s;
  for (const auto& e : events) s += e.content + (e.done ? "|done" : "");
  return s;
}

TEST(StreamDecoder, OpenAiStreamDecodesTheSameAtEveryCut) {
  const std::string body =
      ": ping\n\n"
      "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\r\n\r\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n"
      "data: [DONE]\n\n";
  ASSERT_EQ(contents(decode_all(Api::kOpenAi, body, {})), "Hello|done");
  for (size_t a = 0; a <= body.size(); ++a) {
    for (size_t b = a; b <= body.size(); b += 3) {
      ASSERT_EQ(contents(decode_all(Api::kOpenAi, body, {a, b})), "Hello|done") << a << "," << b;
    }
  }
}

TEST(StreamDecoder, OllamaStreamDecodesTheSameAtEveryCut) {
  const std::string body =
      "{\"message\":{\"content\":\"Bon\"},\"done\":false}\n"
      "{\"message\":{\"content\":\"jour \\u00e9\"},\"done\":false}\n"
      "{\"message\":{\"content\":\"\"},\"done\":true,\"eval_count\":3}";  // no final newline
  ASSERT_EQ(contents(decode_all(Api::kOllama, body, {})), "Bonjour \xc3\xa9|done");
  for (size_t a = 0; a <= body.size(); ++a) {
    ASSERT_EQ(contents(decode_all(Api::kOllama, body, {a})), "Bonjour \xc3\xa9|done") << a;
  }
}

TEST(StreamDecoder, LlamaCppErrorFieldBecomesAnErrorEvent) {
  auto events = decode_all(Api::kOpenAi,
                           "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
                           "error: {\"code\":500,\"message\":\"context shift is disabled\","
                           "\"type\":\"server_error\"}\n\n",
                           {});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].content, "a");
  EXPECT_EQ(events[1].error, "context shift is disabled");
}

TEST(StreamDecoder, AMalformedEventStopsTheStreamAfterTheGoodOnes) {
  std::string error;
  auto events = decode_all(Api::kOllama,
                           "{\"message\":{\"content\":\"a\"}}\n<html>oops</html>\n"
                           "{\"message\":{\"content\":\"b\"}}\n",
                           {}, &error);
  EXPECT_EQ(contents(events), "a");
  EXPECT_NE(error.find("malformed"), std::string::npos) << error;
  events = decode_all(Api::kOpenAi, "data: " + std::string(5000, 'x') + "\n\n", {}, &error);
  EXPECT_TRUE(events.empty());
  EXPECT_NE(error.find("longer than"), std::string::npos) << error;
}

std::string filter_pieces(const std::vector<std::string>& pieces) {
  ThinkFilter f;
  std::string out;
  for (const auto& p : pieces) out += f.push(p);
  return out + f.finish();
}

std::string filter_cut(std::string_view text, size_t a, size_t b) {
  return filter_pieces({std::string(text.substr(0, a)), std::string(text.substr(a, b - a)),
                        std::string(text.substr(b))});
}

TEST(ThinkFilter, RemovesABlockWithTagsSplitAtEveryPosition) {
  const std::string text = "<think>weigh the options</think>\n\nRead Middlemarch.";
  for (size_t a = 0; a <= text.size(); ++a) {
    for (size_t b = a; b <= text.size(); ++b) {
      ASSERT_EQ(filter_cut(text, a, b), "Read Middlemarch.") << a << "," << b;
    }
  }
}

TEST(ThinkFilter, ByteByBytePieces) {
  const std::string text = "A<think>x</think> B <think>y</think>C";
  std::vector<std::string> bytes;
  for (char c : text) bytes.emplace_back(1, c);
  EXPECT_EQ(filter_pieces(bytes), "AB C");
  EXPECT_EQ(filter_pieces({text}), "AB C");
}

TEST(ThinkFilter, PassesOtherTextThroughUnchanged) {
  for (const std::string text :
       {"plain text", "a < b and c > d", "<thin>", "<thinking> is a word here", "</thinker>",
        "<b>bold</b>", "ends with <", "ends with <th", "ends with </think",
        "caf\xc3\xa9 \xf0\x9f\x93\x9a", "  leading space", "x <THINK>upper case is text</THINK>"}) {
    EXPECT_EQ(filter_pieces({text}), text);
    for (size_t a = 0; a <= text.size(); ++a) {
      ASSERT_EQ(filter_cut(text, a, a), text) << "'" << text << "' cut at " << a;
    }
  }
}

TEST(ThinkFilter, ALeadingUnterminatedBlockHidesEverything) {
  const std::string text = "<think>still thinking when max_tokens ran out";
  for (size_t a = 0; a <= text.size(); ++a) ASSERT_EQ(filter_cut(text, a, a), "") << a;
  ThinkFilter f;
  EXPECT_EQ(f.push("<think>partial </thi"), "");
  EXPECT_TRUE(f.in_reasoning());
  EXPECT_EQ(f.finish(), "");
}

TEST(ThinkFilter, NestedBlocksCountTheirDepth) {
  EXPECT_EQ(filter_pieces({"<think>a <think>b</think> c</think>answer"}), "answer");
  EXPECT_EQ(filter_pieces({"<think><think></think>", "still hidden"}), "");
}

TEST(ThinkFilter, StrayClosingTagIsRemoved) {
  // A model whose template opened the block emits only the closing tag.
  EXPECT_EQ(filter_pieces({"</think>\n\nThe answer."}), "The answer.");
  EXPECT_EQ(filter_pieces({"Before.</think> After."}), "Before.After.");
}

TEST(ThinkFilter, WhitespaceAfterABlockIsDroppedEvenAcrossPieces) {
  EXPECT_EQ(filter_pieces({"<think>r</think>", "\n", " \n", "\tAnswer"}), "Answer");
  EXPECT_EQ(filter_pieces({"<think>r</think>", "\n\n"}), "");
  EXPECT_EQ(filter_pieces({"Answer\n\nmore"}), "Answer\n\nmore");
}

TEST(ThinkFilter, HeldBackPrefixThatIsNotATagIsReleased) {
  ThinkFilter f;
  EXPECT_EQ(f.push("1 <th"), "1 ");
  EXPECT_EQ(f.push("ree"), "<three");
  EXPECT_EQ(f.push("</"), "");
  EXPECT_EQ(f.finish(), "</");
}

TEST(Messages, ServerErrorBodiesOfBothApisAndPlainText) {
  EXPECT_EQ(server_error_message(R"({"error":"model \"x\" not found, try pulling it first"})"),
            "model \"x\" not found, try pulling it first");
  EXPECT_EQ(
      server_error_message(R"({"error":{"message":"The model `x` does not exist","code":404}})"),
      "The model `x` does not exist");
  EXPECT_EQ(server_error_message(R"({"detail":"Not Found"})"), "Not Found");
  EXPECT_EQ(server_error_message("Bad Gateway\r\n"), "Bad Gateway");
  EXPECT_EQ(server_error_message("line1\nline2"), "line1 line2");
  std::string long_body(1000, 'x');
  EXPECT_EQ(server_error_message(long_body).size(), 300u);
  EXPECT_EQ(clean_message("\xff\xfe ok", 100), "?? ok");
  // Cut at a character boundary: never half of "é".
  EXPECT_EQ(clean_message("abcd\xc3\xa9zzzz", 8), "abcd...");
}

}  // namespace
}  // namespace libromind::llm
