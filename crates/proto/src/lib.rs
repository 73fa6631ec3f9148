//! Generated code of molbatch's APIs and the small pieces every service shares
//! with it: the descriptor set (reflection, proto3 JSON, REST), id newtypes,
//! and the status helpers that turn invalid requests into
//! `INVALID_ARGUMENT` with field violations.
//!
//! Code elsewhere says `use molbatch_proto::v1 as pb;` for the public API and
//! `use molbatch_proto::internal as ipb;` for the internal one.

pub mod alert_sets;
pub mod analysis;
pub mod export;
pub mod ids;
pub mod json;
pub mod pages;
pub mod status;
pub mod time;

/// Generated modules, nested as the proto packages are so cross-package
/// references resolve.
pub mod molbatch {
    /// The public API, `molbatch.v1`.
    pub mod v1 {
        #![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
        tonic::include_proto!("molbatch.v1");
    }

    /// The internal APIs between services.
    pub mod internal {
        /// `molbatch.internal.v1`.
        pub mod v1 {
            #![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
            tonic::include_proto!("molbatch.internal.v1");
        }
    }
}

/// `google.api` HTTP annotations, kept so the descriptor set is complete.
pub mod google {
    /// `google.api`.
    pub mod api {
        #![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
        tonic::include_proto!("google.api");
    }
}

pub use molbatch::internal::v1 as internal;
pub use molbatch::v1;

/// Encoded `FileDescriptorSet` of every molbatch proto, for gRPC reflection,
/// proto3 JSON and the REST transcoder.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("molbatch_descriptor");

pub use ids::{JobId, Priority, TenantId};
pub use status::Violations;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_set_decodes_and_holds_the_public_service() {
        let pool = prost_reflect::DescriptorPool::decode(FILE_DESCRIPTOR_SET).unwrap();
        assert!(pool.get_service_by_name("molbatch.v1.MolBatch").is_some());
        assert!(pool
            .get_service_by_name("molbatch.internal.v1.Scheduler")
            .is_some());
    }
}
