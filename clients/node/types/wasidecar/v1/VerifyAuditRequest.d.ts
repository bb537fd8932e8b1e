export interface VerifyAuditRequest {
}
export interface VerifyAuditRequest__Output {
}
