/**
 * Every Keras training the notebooks make, in one place: how many reviews, test reviews and epochs, per profile.
 * The notebooks read their budgets from here (`kerasBudget`), so test/keras/limits.test.ts can check each one
 * against the limit lib/keras/limits.ts gives it, and the cost of each at its planned size.
 *
 *   notebook07        notebook 07's Keras run (runs/keras-blog-<profile>/), reused by its solutions
 *   resetBefore07     solutions 07, exercise 2: the same program with reset_after=False
 *   moreBudget07      solutions 07, exercise 3: more budget than notebook 07's (in full a few minutes, not the
 *                     course run's 25,000 reviews x its best epoch, which the solution prices instead)
 */
import { type Profile } from '../util/env';

/** A Keras training's size: the first trainSize / testSize reviews of each split, for `epochs` epochs. */
export interface KerasBudget {
  trainSize: number;
  testSize: number;
  epochs: number;
}

/** The Keras trainings of the notebooks, by name and profile (see the module comment). */
export const KERAS_BUDGETS = {
  notebook07: { ci: { trainSize: 500, testSize: 250, epochs: 1 }, full: { trainSize: 5000, testSize: 5000, epochs: 2 } },
  resetBefore07: { ci: { trainSize: 500, testSize: 250, epochs: 1 }, full: { trainSize: 2000, testSize: 1000, epochs: 1 } },
  moreBudget07: { ci: { trainSize: 1000, testSize: 250, epochs: 1 }, full: { trainSize: 7500, testSize: 500, epochs: 2 } },
} as const satisfies Record<string, Record<Profile, KerasBudget>>;

/** The name of a Keras training of the notebooks. */
export type KerasBudgetName = keyof typeof KERAS_BUDGETS;

/** The budget of one of the notebooks' Keras trainings in a profile. */
export function kerasBudget(name: KerasBudgetName, profile: Profile): KerasBudget {
  return { ...KERAS_BUDGETS[name][profile] };
}
