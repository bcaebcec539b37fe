/**
 * Compile-time contract between the hand-written API types (types.ts, which refine free-form JSON such as job
 * results) and the types generated from the committed OpenAPI schema (schema.d.ts, `npm run gen:api`).
 * `npm run typecheck` fails when a field is added, removed or renamed on one side only; `npm run check:api`
 * fails when schema.d.ts is older than docs/openapi.yaml.
 */
import type { components } from './schema';
import type {
  ApiToken, Job, LanguageModel, Me, SpeculativeRequest, TeamMember, TeamMembership, TokenizeRequest, Tokenizer, User,
  JobStatus,
} from './types';

type Schemas = components['schemas'];
type Missing<A, B> = Exclude<keyof A, keyof B>;
/** `true` when both types name the same fields; otherwise a type naming what is missing on each side. */
type SameFields<Api, Ours> = [Missing<Api, Ours>, Missing<Ours, Api>] extends [never, never]
  ? true
  : { inApiOnly: Missing<Api, Ours>; oursOnly: Missing<Ours, Api> };
/** `true` when every field the API declares exists in our type (ours may add optional client-side fields). */
type Covers<Api, Ours> = [Missing<Api, Ours>] extends [never] ? true : { inApiOnly: Missing<Api, Ours> };
type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

export const contract: {
  job: SameFields<Schemas['Job'], Job>;
  jobStatus: Equal<Schemas['StatusEnum'], JobStatus>;
  tokenizer: SameFields<Schemas['Tokenizer'], Tokenizer>;
  model: Covers<Schemas['Model'], LanguageModel>;
  me: SameFields<Schemas['Me'], Me>;
  user: SameFields<Schemas['User'], User>;
  membership: SameFields<Schemas['TeamMembership'], TeamMembership>;
  member: SameFields<Schemas['Member'], TeamMember>;
  apiToken: SameFields<Schemas['ApiToken'], ApiToken>;
  // `file` travels as multipart form data (the upload path), not in the JSON request type.
  tokenizeRequest: Covers<Omit<Schemas['TokenizeInputRequest'], 'file'>, TokenizeRequest>;
  speculativeRequest: Covers<Schemas['SpeculativeInputRequest'], SpeculativeRequest>;
} = {
  job: true, jobStatus: true, tokenizer: true, model: true, me: true, user: true, membership: true, member: true,
  apiToken: true, tokenizeRequest: true, speculativeRequest: true,
};
