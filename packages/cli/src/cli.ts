/**
 * The `consentkit` executable, run from source (tests) or built (`bin/consentkit.js` loads the
 * built `main.js` instead).
 *
 * @since 0.1.0
 */
import { run } from "./main.js"

await run()
