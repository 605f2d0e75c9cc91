// The order confirmation e-mail: its text and HTML parts (rendered from the order), and the
// `send_email` job that sends it once per order, ever. Checkout enqueues the job in the order's
// transaction (OrderService::enable_confirmation_emails); the job records the sent message in
// `order_emails` after the SMTP server accepted it, and a job for an order already recorded
// does nothing. The one window left is a crash between the server's acceptance and that
// record: the retry then sends again with the same Message-ID, which receiving systems use to
// drop the duplicate.
//
//   shop::OrderEmails emails(store, orders, smtp, {.shop_name = "Libro-Mind"});
//   emails.register_handler(handlers);
#pragma once

#include <string>

#include "jobs/worker.hpp"
#include "mail/smtp.hpp"
#include "shop/order_service.hpp"

namespace libromind::shop {

struct OrderEmailOptions {
  std::string shop_name = "Libro-Mind";
  std::string base_url = {};  // the storefront ("https://shop.example.com"); links when set
};

// The message for an order (pure: tests check it without a server).
mail::Message render_order_confirmation(const Order& order, const OrderEmailOptions& options,
                                        const std::string& sender_domain);

class OrderEmails {
 public:
  OrderEmails(store::Store& store, OrderService& orders, const mail::SmtpSender& smtp,
              OrderEmailOptions options = {});
  void register_handler(jobs::Handlers& handlers);
  core::Result<nlohmann::json> run(jobs::JobContext& ctx);

 private:
  store::Store& store_;
  OrderService& orders_;
  const mail::SmtpSender& smtp_;
  OrderEmailOptions options_;
};

}  // namespace libromind::shop
