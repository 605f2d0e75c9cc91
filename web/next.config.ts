import type { NextConfig } from "next";

const config: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The /api proxy streams bodies (uploads up to 50 MB, SSE) itself; nothing here buffers them.
  images: {
    // Covers come from Project Gutenberg's cache; shown with a plain <img> (no optimiser round trip).
    unoptimized: true,
  },
};

export default config;
