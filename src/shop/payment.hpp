// Payments go through a PaymentProvider: authorize an amount on a card before the order is
// written, void the authorization when the order cannot be written, refund a cancelled order.
// The built-in `test` provider charges nothing and answers by card number (docs/shop.md):
//
//   4242 4242 4242 4242  approved
//   4000 0000 0000 0002  declined: card_declined
//   4000 0000 0000 9995  declined: insufficient_funds
//   4000 0000 0000 0069  declined: expired_card
//   4000 0000 0000 0119  the provider is unavailable (processing_error, retry later)
//
// Any other number that passes the Luhn check is declined with `test_card_required`.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/result.hpp"

namespace libromind::shop {

struct Card {
  std::string number;  // digits only (spaces and hyphens are stripped by normalize_card)
  int64_t exp_month = 0;
  int64_t exp_year = 0;
  std::string cvc;
  std::string last4() const { return number.size() >= 4 ? number.substr(number.size() - 4) : ""; }
};

// Strips spaces/hyphens and checks the number (12..19 digits, Luhn), expiry (not past, at most
// 20 years ahead) and CVC (3 or 4 digits). Errors name the field ("payment.card_number", ...).
core::Result<Card> normalize_card(Card card, int64_t now_year, int64_t now_month);
bool luhn_valid(std::string_view digits);

struct Authorization {
  bool approved = false;
  std::string reference;     // the provider's id for the authorization
  std::string decline_code;  // when declined: "card_declined", "insufficient_funds", ...
};

class PaymentProvider {
 public:
  virtual ~PaymentProvider() = default;
  virtual std::string name() const = 0;
  // Reserves `amount_cents` on the card. `idempotency_key` makes a retried call harmless.
  virtual core::Result<Authorization> authorize(const Card& card, int64_t amount_cents,
                                                const std::string& currency,
                                                const std::string& idempotency_key) = 0;
  // Releases an authorization whose order was not written.
  virtual core::Result<void> void_authorization(const std::string& reference) = 0;
  // Gives back the money of a cancelled order.
  virtual core::Result<void> refund(const std::string& reference, int64_t amount_cents) = 0;
};

class TestPaymentProvider : public PaymentProvider {
 public:
  std::string name() const override { return "test"; }
  core::Result<Authorization> authorize(const Card& card, int64_t amount_cents,
                                        const std::string& currency,
                                        const std::string& idempotency_key) override;
  core::Result<void> void_authorization(const std::string& reference) override;
  core::Result<void> refund(const std::string& reference, int64_t amount_cents) override;
};

}  // namespace libromind::shop
