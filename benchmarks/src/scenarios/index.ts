import type { Scenario } from '../harness/types';
import { distributedStampede } from './distributedStampede';
import { hotHit } from './hotHit';
import { backplane, l2Batch, l2Read } from './l2Redis';
import { memory } from './memory';

/** Every scenario, in the order of the issue and of results/latest.md. */
export const scenarios: Scenario[] = [hotHit, memory, l2Read, l2Batch, backplane, distributedStampede];
