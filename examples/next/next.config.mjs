/** @type {import("next").NextConfig} */
const config = {
  // `turbo run typecheck` checks the app; the build does not check it again.
  typescript: { ignoreBuildErrors: true },
}
export default config
