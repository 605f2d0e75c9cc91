#include "shop/payment.hpp"

#include "core/crypto.hpp"
#include "telemetry/log.hpp"

namespace libromind::shop {

bool luhn_valid(std::string_view digits) {
  int sum = 0;
  bool twice = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (d < 0 || d > 9) return false;
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return !digits.empty() && sum % 10 == 0;
}

core::Result<Card> normalize_card(Card card, int64_t now_year, int64_t now_month) {
  std::string digits;
  for (char c : card.number) {
    if (c == ' ' || c == '-') continue;
    if (c < '0' || c > '9') {
      return core::Error::invalid("card number must be digits", "payment.card_number");
    }
    digits.push_back(c);
  }
  if (digits.size() < 12 || digits.size() > 19 || !luhn_valid(digits)) {
    return core::Error::invalid("card number is not valid", "payment.card_number");
  }
  card.number = digits;
  if (card.exp_month < 1 || card.exp_month > 12) {
    return core::Error::invalid("exp_month must be 1..12", "payment.exp_month");
  }
  if (card.exp_year < now_year || card.exp_year > now_year + 20 ||
      (card.exp_year == now_year && card.exp_month < now_month)) {
    return core::Error::invalid("the card has expired or its expiry year is not plausible",
                                "payment.exp_year");
  }
  if (card.cvc.size() < 3 || card.cvc.size() > 4 ||
      card.cvc.find_first_not_of("0123456789") != std::string::npos) {
    return core::Error::invalid("cvc must be 3 or 4 digits", "payment.cvc");
  }
  return card;
}

core::Result<Authorization> TestPaymentProvider::authorize(const Card& card, int64_t amount_cents,
                                                           const std::string& currency,
                                                           const std::string&) {
  Authorization a;
  a.reference = "test_auth_" + core::random_token(12);
  if (card.number == "4242424242424242") {
    a.approved = true;
  } else if (card.number == "4000000000000002") {
    a.decline_code = "card_declined";
  } else if (card.number == "4000000000009995") {
    a.decline_code = "insufficient_funds";
  } else if (card.number == "4000000000000069") {
    a.decline_code = "expired_card";
  } else if (card.number == "4000000000000119") {
    auto e = core::Error::unavailable("the payment provider is unavailable (processing_error)");
    e.type = "payment-unavailable";
    e.retry_after_seconds = 5;
    return e;
  } else {
    a.decline_code = "test_card_required";
  }
  telemetry::log_info("payment_authorize", {{"provider", "test"},
                                            {"approved", a.approved},
                                            {"decline_code", a.decline_code},
                                            {"amount_cents", amount_cents},
                                            {"currency", currency},
                                            {"card_last4", card.last4()}});
  return a;
}

core::Result<void> TestPaymentProvider::void_authorization(const std::string& reference) {
  telemetry::log_info("payment_void", {{"provider", "test"}, {"reference", reference}});
  return core::ok();
}

core::Result<void> TestPaymentProvider::refund(const std::string& reference, int64_t amount_cents) {
  telemetry::log_info(
      "payment_refund",
      {{"provider", "test"}, {"reference", reference}, {"amount_cents", amount_cents}});
  return core::ok();
}

}  // namespace libromind::shop
