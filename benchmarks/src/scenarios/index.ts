import type { Scenario } from '../harness/types';
import { distributedStampede } from './distributedStampede';
import { evictionChurn } from './evictionChurn';
import { hotHit } from './hotHit';
import { isolation } from './isolation';
import { backplane, l2Batch, l2Read } from './l2Redis';
import { memory } from './memory';
import { missPath } from './missPath';
import { policyOverhead } from './policyOverhead';
import { processCost } from './processCost';
import { stampedeHundredKeys, stampedeOneKey } from './stampede';
import { telemetry } from './telemetry';

/** Every scenario, in the order of the issue and of results/latest.md. */
export const scenarios: Scenario[] = [hotHit, missPath, evictionChurn, stampedeOneKey, stampedeHundredKeys, memory, policyOverhead, l2Read, l2Batch, backplane, distributedStampede, processCost, isolation, telemetry];
