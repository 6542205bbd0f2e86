//! Incidents and postmortems as the UI sees them: a thin layer over core/src/incidents.

use promptdesk_core::eval::Case;
use promptdesk_core::incidents::{Incident, IncidentDetail, NewIncident, OpenAction, Postmortem};

use crate::types::*;
use crate::{Api, ApiError};

type R<T> = Result<T, ApiError>;

pub fn list_incidents(api: &Api, req: ListIncidents) -> R<Vec<Incident>> {
    api.with(|reg| Ok(reg.incidents(!req.all.unwrap_or(false))?))
}

pub fn open_incident(api: &Api, req: NewIncident) -> R<IncidentDetail> {
    api.with(|reg| {
        let i = reg.open_incident(req)?;
        Ok(reg.incident_detail(&i.id)?)
    })
}

pub fn incident_detail(api: &Api, req: IncidentId) -> R<IncidentDetail> {
    api.with(|reg| Ok(reg.incident_detail(&req.id)?))
}

pub fn update_incident(api: &Api, req: UpdateIncident) -> R<IncidentDetail> {
    api.with(|reg| {
        let i = reg.update_incident(&req.id, req.change)?;
        Ok(reg.incident_detail(&i.id)?)
    })
}

pub fn add_incident_note(api: &Api, req: AddIncidentNote) -> R<IncidentDetail> {
    api.with(|reg| {
        reg.add_incident_note(&req.id, req.at.as_deref(), &req.text)?;
        Ok(reg.incident_detail(&req.id)?)
    })
}

/// Rolls the incident's label back (signed, like every rollback).
pub fn incident_rollback(api: &Api, req: IncidentRollback) -> R<IncidentRolledBack> {
    let (store, _) = api.key_store()?;
    api.with(|reg| {
        crate::handlers::with_signer(&store, reg)?;
        let (incident, release) =
            reg.incident_rollback(&req.id, req.reason.as_deref().unwrap_or(""))?;
        Ok(IncidentRolledBack { incident, release })
    })
}

pub fn get_postmortem(api: &Api, req: IncidentId) -> R<Postmortem> {
    api.with(|reg| Ok(reg.postmortem(&req.id)?))
}

pub fn save_postmortem(api: &Api, req: SavePostmortem) -> R<Postmortem> {
    api.with(|reg| Ok(reg.save_postmortem(&req.id, req.doc)?))
}

pub fn add_regression_cases(api: &Api, req: AddRegressionCases) -> R<Vec<Case>> {
    api.with(|reg| Ok(reg.add_regression_cases(&req.id, &req.suite, req.cases)?))
}

pub fn export_postmortem(api: &Api, req: IncidentId) -> R<MarkdownExport> {
    api.with(|reg| {
        let pm = reg.postmortem(&req.id)?;
        Ok(MarkdownExport {
            file_name: format!(
                "postmortem-{}.md",
                &pm.incident.id[..8.min(pm.incident.id.len())]
            ),
            markdown: promptdesk_core::incidents::postmortem_markdown(&pm),
        })
    })
}

pub fn open_actions(api: &Api, _: NoArgs) -> R<Vec<OpenAction>> {
    let today = promptdesk_core::registry::system_clock()();
    api.with(|reg| Ok(reg.open_actions(&today[..10.min(today.len())])?))
}
