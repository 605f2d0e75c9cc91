// The order confirmation e-mail as rendered (the SMTP exchange itself is tested against a real
// SMTP server in tests/integration/test_order_emails.py), and the SMTP settings that are
// refused before anything is sent.
#include "shop/order_email.hpp"

#include <gtest/gtest.h>

namespace libromind::shop {
namespace {

Order sample_order() {
  Order o;
  o.id = "ord_abc123";
  o.user_email = "ann@example.org";
  o.status = "paid";
  o.currency = "EUR";
  o.total_cents = 2650;
  o.shipping = {"Ann Reader", "1 Book Lane", "", "Leeds", "LS1 1AA", "GB"};
  o.lines = {{"pg-1", "Pride & <Prejudice>", 500, 2, 1000},
             {"pg-2", "Caf\xc3\xa9 Stories", 1650, 1, 1650}};
  return o;
}

TEST(OrderEmail, NamesTheOrderItsLinesTotalAndAddressInBothParts) {
  auto m = render_order_confirmation(sample_order(), {.shop_name = "Libro-Mind"}, "shop.test");
  EXPECT_EQ(m.to, "ann@example.org");
  EXPECT_EQ(m.subject, "Your Libro-Mind order ord_abc123");
  EXPECT_EQ(m.message_id, "<order-ord_abc123@shop.test>");
  EXPECT_NE(m.text.find("2 x Pride & <Prejudice>  10.00 EUR"), std::string::npos) << m.text;
  EXPECT_NE(m.text.find("1 x Caf\xc3\xa9 Stories  16.50 EUR"), std::string::npos);
  EXPECT_NE(m.text.find("Total: 26.50 EUR"), std::string::npos);
  EXPECT_NE(m.text.find("LS1 1AA Leeds"), std::string::npos);
  EXPECT_NE(m.html.find("26.50 EUR"), std::string::npos);
  EXPECT_NE(m.html.find("Ann Reader"), std::string::npos);
}

TEST(OrderEmail, EscapesWhatTheCatalogueAndTheShopperWroteInTheHtmlPart) {
  Order o = sample_order();
  o.shipping.name = "<script>alert(1)</script>";
  auto m = render_order_confirmation(o, {}, "shop.test");
  EXPECT_EQ(m.html.find("<Prejudice>"), std::string::npos);
  EXPECT_NE(m.html.find("Pride &amp; &lt;Prejudice&gt;"), std::string::npos);
  EXPECT_EQ(m.html.find("<script>"), std::string::npos);
  EXPECT_NE(m.html.find("&lt;script&gt;"), std::string::npos);
}

TEST(OrderEmail, LinksToTheOrderWhenTheStorefrontIsKnown) {
  auto m = render_order_confirmation(sample_order(), {.base_url = "https://books.example"}, "x.y");
  EXPECT_NE(m.text.find("https://books.example/orders/ord_abc123"), std::string::npos);
  EXPECT_NE(m.html.find("href=\"https://books.example/orders/ord_abc123\""), std::string::npos);
  auto plain = render_order_confirmation(sample_order(), {}, "x.y");
  EXPECT_EQ(plain.text.find("http"), std::string::npos);
}

TEST(SmtpSettings, RefusesWhatWouldLeakOrCannotWork) {
  using mail::SmtpOptions;
  using mail::SmtpSender;
  EXPECT_TRUE(SmtpSender::validate({.url = "smtp://127.0.0.1:2525", .from = "shop@example.org"}));
  EXPECT_TRUE(SmtpSender::validate({.url = "smtps://mail.example.org", .from = "a@b.c"}));
  EXPECT_FALSE(SmtpSender::validate({.url = "http://mail", .from = "a@b.c"}));
  auto creds = SmtpSender::validate({.url = "smtp://user:secret@mail", .from = "a@b.c"});
  ASSERT_FALSE(creds);
  EXPECT_EQ(creds.error().message.find("secret"), std::string::npos);
  EXPECT_FALSE(SmtpSender::validate({.url = "smtp://mail", .from = "not an address"}));
  EXPECT_FALSE(SmtpSender::validate({.url = "smtp://mail", .from = "a@b.c\r\nBcc: x@y.z"}));
  EXPECT_FALSE(
      SmtpSender::validate({.url = "smtp://mail", .from = "a@b.c", .password = "pw-without-user"}));
}

TEST(SmtpSettings, RefusesARecipientOrHeaderThatWouldInjectHeaders) {
  mail::SmtpSender smtp({.url = "smtp://127.0.0.1:9", .from = "shop@example.org"});
  auto r = smtp.send({.to = "ann@example.org\r\nBcc: all@example.org", .subject = "s"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  auto s = smtp.send({.to = "ann@example.org", .subject = "hi\r\nBcc: x@y.z"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, core::ErrorCode::kInvalidArgument);
}

TEST(SmtpSettings, AServerThatIsDownIsATemporaryError) {
  mail::SmtpSender smtp(
      {.url = "smtp://127.0.0.1:9", .from = "shop@example.org", .connect_timeout_ms = 2000});
  auto r = smtp.send({.to = "ann@example.org", .subject = "s", .text = "t", .html = "<p>t</p>"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable) << r.error().message;
}

}  // namespace
}  // namespace libromind::shop
