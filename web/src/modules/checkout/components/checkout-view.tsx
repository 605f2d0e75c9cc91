"use client";
// Checkout for a signed-in shopper: the cart's summary, the shipping address and the card.
// One Idempotency-Key per attempt, kept while the form content stays the same (idempotency.ts).
import { useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRef, useState, type FormEvent, type InputHTMLAttributes } from "react";
import { queryKeys } from "@/lib/query/client";
import { useUser } from "@/modules/account/use-user";
import { useCart } from "@/modules/cart/use-cart";
import { checkoutFailure, failure, readValues, toCheckoutInput, validate, type Failure, type Field } from "../checkout";
import { attemptFor, type Attempt } from "../idempotency";
import { usePlaceOrder } from "../use-place-order";
import { CheckoutSummary } from "./checkout-summary";

const LOGIN = "/login?next=/checkout";

export function CheckoutView() {
  const { data: user, isLoading } = useUser();
  return (
    <section aria-labelledby="checkout-heading" className="space-y-4">
      <h1 id="checkout-heading" className="text-2xl font-bold">Checkout</h1>
      {isLoading ? (
        <p>Loading…</p>
      ) : user ? (
        <CheckoutForm />
      ) : (
        <p>
          Please <Link href={LOGIN} className="underline">sign in</Link> to check out. Your cart is kept.
        </p>
      )}
    </section>
  );
}

// hintId: the id of a text that describes the field.
type FieldProps = { name: Field; label: string; error: string | undefined; hintId?: string } & InputHTMLAttributes<HTMLInputElement>;

function FormField({ name, label, error, hintId, className, ...input }: FieldProps) {
  const id = `checkout-${name}`;
  const describedBy = [hintId, error ? `${id}-error` : undefined].filter(Boolean).join(" ") || undefined;
  return (
    <div className={className}>
      <label htmlFor={id} className="block text-sm font-medium">{label}</label>
      <input
        id={id}
        name={name}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        className={`mt-1 w-full rounded border px-3 py-2 ${error ? "border-red-700" : ""}`}
        {...input}
      />
      {error && <p id={`${id}-error`} className="mt-1 text-sm text-red-700">{error}</p>}
    </div>
  );
}

function CheckoutForm() {
  const qc = useQueryClient();
  const { data: cart, isLoading, error } = useCart();
  const place = usePlaceOrder();
  const attempt = useRef<Attempt | null>(null);
  const inFlight = useRef(false);
  const [problem, setProblem] = useState<Failure | null>(null);

  if (place.isSuccess) return <p role="status">Order placed. Opening your order…</p>;
  if (isLoading) return <p>Loading your cart…</p>;
  if (error) return <p role="alert">Your cart could not be loaded: {error.message}</p>;
  if (!cart || cart.items.length === 0) {
    return (
      <p>
        Your cart is empty. <Link href="/" className="underline">Find a book</Link> or see{" "}
        <Link href="/orders" className="underline">your order history</Link>.
      </p>
    );
  }

  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (inFlight.current) return; // a double click: the first submission is under way
    const values = readValues(new FormData(e.currentTarget));
    const fields = validate(values);
    if (Object.keys(fields).length > 0) {
      setProblem(failure("Please correct the marked fields.", { fields }));
      return;
    }
    const input = toCheckoutInput(values, cart.subtotal_cents);
    const current = attemptFor(attempt.current, JSON.stringify(input));
    attempt.current = current;
    inFlight.current = true;
    setProblem(null);
    place.mutate(
      { input, key: current.key },
      {
        onSuccess: () => {
          attempt.current = null;
        },
        onError: (err) => {
          const f = checkoutFailure(err, cart);
          if (f.newKey) attempt.current = null;
          if (f.refreshCart) void qc.invalidateQueries({ queryKey: queryKeys.cart });
          setProblem(f);
        },
        onSettled: () => {
          inFlight.current = false;
        },
      },
    );
  };

  const err = (f: Field) => problem?.fields[f];
  return (
    <div className="grid gap-6 md:grid-cols-[1fr_20rem]">
      <form noValidate onSubmit={onSubmit} className="space-y-6 rounded border border-stone-200 bg-white p-6">
        <fieldset className="grid gap-4 sm:grid-cols-2">
          <legend className="mb-2 text-lg font-semibold">Shipping address</legend>
          <FormField name="name" label="Full name" autoComplete="name" error={err("name")} className="sm:col-span-2" />
          <FormField name="line1" label="Address" autoComplete="address-line1" error={err("line1")} className="sm:col-span-2" />
          <FormField name="city" label="City" autoComplete="address-level2" error={err("city")} />
          <FormField name="postal_code" label="Postal code" autoComplete="postal-code" error={err("postal_code")} />
          <FormField
            name="country"
            label="Country"
            autoComplete="country"
            defaultValue="US"
            maxLength={2}
            placeholder="US"
            error={err("country")}
            hintId="country-hint"
          />
          <p id="country-hint" className="self-end text-sm text-stone-600">Two-letter code, such as US, GB or DE.</p>
        </fieldset>
        <fieldset className="grid gap-4 sm:grid-cols-3">
          <legend className="mb-2 text-lg font-semibold">Payment</legend>
          <p id="card-hint" className="text-sm text-stone-600 sm:col-span-3">
            Nothing is charged in this shop. Test cards: <span className="font-mono">4242 4242 4242 4242</span> is approved,{" "}
            <span className="font-mono">4000 0000 0000 0002</span> is declined; any future expiry date and any 3-digit CVC.
          </p>
          <FormField
            name="card_number"
            label="Card number"
            autoComplete="cc-number"
            inputMode="numeric"
            error={err("card_number")}
            hintId="card-hint"
            className="sm:col-span-3"
          />
          <FormField name="exp_month" label="Expiry month" autoComplete="cc-exp-month" inputMode="numeric" maxLength={2} placeholder="MM" error={err("exp_month")} />
          <FormField name="exp_year" label="Expiry year" autoComplete="cc-exp-year" inputMode="numeric" maxLength={4} placeholder="YYYY" error={err("exp_year")} />
          <FormField name="cvc" label="CVC" autoComplete="cc-csc" inputMode="numeric" maxLength={4} error={err("cvc")} />
        </fieldset>
        {!cart.checkout_ready && (
          <p className="text-sm text-red-700">
            Some books in your cart cannot be bought as they are. <Link href="/cart" className="underline">Review your cart</Link>
          </p>
        )}
        <div role="alert" className="min-h-6 text-sm text-red-700">
          {problem && (
            <p>
              {problem.message}
              {problem.cartLink && (
                <>
                  {" "}
                  <Link href="/cart" className="font-medium underline">Back to your cart</Link>
                </>
              )}
              {problem.signIn && (
                <>
                  {" "}
                  <Link href={LOGIN} className="font-medium underline">Sign in</Link>
                </>
              )}
            </p>
          )}
        </div>
        <p role="status" aria-live="polite" className="sr-only">{place.isPending ? "Placing your order…" : ""}</p>
        <button
          type="submit"
          disabled={place.isPending}
          aria-busy={place.isPending}
          className="w-full rounded bg-amber-700 px-4 py-2 font-medium text-white hover:bg-amber-800 disabled:bg-stone-400"
        >
          Place order
        </button>
      </form>
      <CheckoutSummary cart={cart} />
    </div>
  );
}
