#include "shop/order_email.hpp"

#include <ctime>

#include "jobs/kinds.hpp"
#include "telemetry/log.hpp"

namespace libromind::shop {

namespace {

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string money(int64_t cents, const std::string& currency) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  return std::string(buf) + " " + currency;
}

std::string address_lines(const Address& a, const char* sep) {
  std::string out = a.name + sep + a.line1;
  if (!a.line2.empty()) out += sep + a.line2;
  out += sep + a.postal_code + " " + a.city + sep + a.country;
  return out;
}

}  // namespace

mail::Message render_order_confirmation(const Order& o, const OrderEmailOptions& opt,
                                        const std::string& sender_domain) {
  mail::Message m;
  m.to = o.user_email;
  m.subject = "Your " + opt.shop_name + " order " + o.id;
  m.message_id = "<order-" + o.id + "@" + sender_domain + ">";
  const std::string link = opt.base_url.empty() ? "" : opt.base_url + "/orders/" + o.id;

  std::string t = "Thank you for your order.\n\nOrder " + o.id + " (" + o.status + ")\n\n";
  for (const auto& l : o.lines) {
    t += std::to_string(l.quantity) + " x " + l.title + "  " +
         money(l.line_total_cents, o.currency) + "\n";
  }
  t += "\nTotal: " + money(o.total_cents, o.currency) + "\n\nShipping to:\n" +
       address_lines(o.shipping, "\n") + "\n";
  if (!link.empty()) t += "\nYour order: " + link + "\n";
  t += "\n" + opt.shop_name + "\n";
  m.text = std::move(t);

  std::string h = "<!doctype html><html><body style=\"font-family:sans-serif\">";
  h += "<p>Thank you for your order.</p><h1 style=\"font-size:1.2em\">Order " + html_escape(o.id) +
       " (" + html_escape(o.status) + ")</h1>";
  h += "<table cellpadding=\"4\"><thead><tr><th align=\"left\">Book</th><th>Qty</th>"
       "<th align=\"right\">Price</th></tr></thead><tbody>";
  for (const auto& l : o.lines) {
    h += "<tr><td>" + html_escape(l.title) + "</td><td align=\"center\">" +
         std::to_string(l.quantity) + "</td><td align=\"right\">" +
         html_escape(money(l.line_total_cents, o.currency)) + "</td></tr>";
  }
  h += "</tbody><tfoot><tr><td colspan=\"2\"><strong>Total</strong></td><td align=\"right\">"
       "<strong>" +
       html_escape(money(o.total_cents, o.currency)) + "</strong></td></tr></tfoot></table>";
  h += "<p>Shipping to:<br>" + html_escape(o.shipping.name) + "<br>" +
       html_escape(o.shipping.line1) + "<br>";
  if (!o.shipping.line2.empty()) h += html_escape(o.shipping.line2) + "<br>";
  h += html_escape(o.shipping.postal_code) + " " + html_escape(o.shipping.city) + "<br>" +
       html_escape(o.shipping.country) + "</p>";
  if (!link.empty()) h += "<p><a href=\"" + html_escape(link) + "\">Your order</a></p>";
  h += "<p>" + html_escape(opt.shop_name) + "</p></body></html>";
  m.html = std::move(h);
  return m;
}

OrderEmails::OrderEmails(store::Store& store, OrderService& orders, const mail::SmtpSender& smtp,
                         OrderEmailOptions options)
    : store_(store), orders_(orders), smtp_(smtp), options_(std::move(options)) {}

void OrderEmails::register_handler(jobs::Handlers& handlers) {
  handlers.add(jobs::kSendEmail, [this](jobs::JobContext& ctx) { return run(ctx); });
}

core::Result<nlohmann::json> OrderEmails::run(jobs::JobContext& ctx) {
  const auto& p = ctx.job().payload;
  if (!p.contains("order_id") || !p["order_id"].is_number_integer()) {
    return core::Error::invalid("the payload needs order_id", "order_id");
  }
  const int64_t pk = p["order_id"].get<int64_t>();
  {
    LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
    LM_ASSIGN_OR_RETURN(auto sent, conn->query("SELECT message_id FROM order_emails WHERE "
                                               "order_id = $1",
                                               {store::Value{pk}}));
    if (!sent.empty()) {
      return nlohmann::json{
          {"order_id", pk}, {"sent", false}, {"already_sent", store::as_string(sent.rows[0][0])}};
    }
  }
  LM_ASSIGN_OR_RETURN(Order order, orders_.get_by_pk(pk));
  const std::string& from = smtp_.options().from;
  const std::string domain = from.substr(from.find('@') + 1);
  mail::Message m = render_order_confirmation(order, options_, domain);
  LM_TRY(smtp_.send(m));
  LM_TRY(store::with_transaction(store_, [&](store::Connection& tx) {
    return store::run(tx,
                      "INSERT INTO order_emails (order_id, message_id, recipient, sent_at) VALUES "
                      "($1, $2, $3, $4) ON CONFLICT (order_id) DO NOTHING",
                      {store::Value{pk}, store::Value{m.message_id}, store::Value{m.to},
                       store::Value{jobs::Queue::now_ms()}});
  }));
  telemetry::log_info("order_email_sent", {{"order_id", order.id}, {"message_id", m.message_id}});
  return nlohmann::json{{"order_id", pk}, {"sent", true}, {"message_id", m.message_id}};
}

}  // namespace libromind::shop
