/**
 * A model scenario in live mode: the scenario's client roles are played from their models against
 * a live server, as a live case on the engine (src/conformance/engine/live-case.ts). The code is in
 * ./live-scenario/ (live-scenario-case.ts is the driver; schedule-steps.ts compiles a scenario's or a
 * trace's schedule into its steps); this module is its public entry.
 */
export { runLiveScenario } from './live-scenario/live-scenario-case.js';
export { compileLiveSteps, liveScheduleOf, liveStepsOf, type LiveStep } from './live-scenario/schedule-steps.js';
export { conformanceFindingId, type LiveScenarioOptions, type LiveScenarioResult, type LiveSchedule } from './live-scenario/types.js';
export type { PrintParams } from '../models/types.js';
