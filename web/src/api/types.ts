/**
 * Short names for the API's message types, generated from the gateway's
 * OpenAPI document (`npm run gen:api` writes schema.d.ts; never edit it).
 */
import type { components } from './schema';

type S = components['schemas'];

export type Job = S['molbatch.v1.Job'];
export type JobState = NonNullable<Job['state']>;
export type ListJobsResponse = S['molbatch.v1.ListJobsResponse'];
export type JobEvent = S['molbatch.v1.JobEvent'];
export type MoleculeResult = S['molbatch.v1.MoleculeResult'];
export type ListResultsResponse = S['molbatch.v1.ListResultsResponse'];
export type ActivityResult = S['molbatch.v1.ActivityResult'];
export type Alert = S['molbatch.v1.Alert'];
export type Analysis = S['molbatch.v1.Analysis'];
export type Depiction = S['molbatch.v1.Depiction'];
export type BatchDepictResponse = S['molbatch.v1.BatchDepictResponse'];
export type Export = S['molbatch.v1.Export'];
export type ExportState = NonNullable<Export['state']>;
export type WhoAmIResponse = S['molbatch.v1.WhoAmIResponse'];
export type SearchSimilarResponse = S['molbatch.v1.SearchSimilarResponse'];
export type ListAnalysesResponse = S['molbatch.v1.ListAnalysesResponse'];
export type ListMatchedPairsResponse = S['molbatch.v1.ListMatchedPairsResponse'];
export type ErrorBody = S['Error'];
export type ApiRole = S['molbatch.v1.Role'];
export type Tenant = S['molbatch.v1.Tenant'];
export type Quotas = S['molbatch.v1.Quotas'];
export type ListTenantsResponse = S['molbatch.v1.ListTenantsResponse'];
export type ApiKey = S['molbatch.v1.ApiKey'];
export type ListApiKeysResponse = S['molbatch.v1.ListApiKeysResponse'];
export type AuditEvent = S['molbatch.v1.AuditEvent'];
export type ListAuditEventsResponse = S['molbatch.v1.ListAuditEventsResponse'];
