package sim

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

func registerWorkOrders() {
	register("Ams", "WorkOrder/Create", (*Server).apiCreateWorkOrder, "creates")
	register("Ams", "WorkOrder/ById", (*Server).apiWorkOrderByID)
	register("Ams", "WorkOrder/ByIds", (*Server).apiWorkOrdersByIDs)
	register("Ams", "WorkOrder/Search", (*Server).apiSearchWorkOrders)
	register("Ams", "WorkOrder/Close", (*Server).apiCloseWorkOrders)
	register("Ams", "WorkOrder/Cancel", (*Server).apiCancelWorkOrders)
	register("Ams", "WorkOrder/Templates", (*Server).apiWOTemplates)
	register("Ams", "WorkOrder/AddComments", (*Server).apiWorkOrderAddComments)
	register("Ams", "WorkOrder/Comments", (*Server).apiWorkOrderComments)
}

// texts reads Text1..Text20 (a string, or a list for search filters) from a data object.
func texts(data string) (map[int]strList, *apiError) {
	var m map[string]json.RawMessage
	if e := decodeData(data, &m); e != nil {
		return nil, e
	}
	out := map[int]strList{}
	for n := 1; n <= 20; n++ {
		raw, ok := m["Text"+strconv.Itoa(n)]
		if !ok {
			continue
		}
		var l strList
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, fail(codeInvalidField, "Text%d: %v", n, err)
		}
		if len(l) > 0 {
			out[n] = l
		}
	}
	return out, nil
}

func (s *Server) apiCreateWorkOrder(c *call) (reply, *apiError) {
	var in struct {
		WOTemplateId flexStr
		EntityType   string
		Entities     []struct {
			EntityType string
			EntityUid  string
		}
		Address, City, Zip     string
		X, Y                   *float64
		Comments, Instructions string
		InitiatedByApp         string
		RequestIds             intList
		Priority               flexStr
		WebServiceRequestId    string
	}
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	tx, e := texts(c.data)
	if e != nil {
		return reply{}, e
	}
	if in.WOTemplateId == "" || in.EntityType == "" {
		return reply{}, fail(codeInvalidField, "WOTemplateId and EntityType are required")
	}
	tpl, ok := s.st.WOTemplates[string(in.WOTemplateId)]
	if !ok {
		return reply{}, fail(codeInvalidField, "WOTemplateId %s does not exist", in.WOTemplateId)
	}
	if !strings.EqualFold(tpl.ApplyToEntity, in.EntityType) {
		return reply{}, fail(codeInvalidField, "template %s applies to %s, not %s", tpl.WOTemplateId, tpl.ApplyToEntity, in.EntityType)
	}
	for _, en := range in.Entities {
		if strings.TrimSpace(en.EntityUid) == "" {
			return reply{}, fail(codeNoUIDForEntityType, "no Uid set for entity type %s", en.EntityType)
		}
	}
	if (in.X == nil) != (in.Y == nil) || (in.X != nil && (math.IsNaN(*in.X) || math.IsNaN(*in.Y))) {
		return reply{}, fail(codeInvalidMapLogicXY, "X and Y must be given together")
	}
	for _, rid := range in.RequestIds {
		if _, ok := s.st.Requests[rid]; !ok {
			return reply{}, fail(codeItemNotFound, "Request %d not found", rid)
		}
	}
	s.st.NextWO++
	s.st.NextWOSid++
	wo := &WorkOrder{
		WorkOrderId: strconv.Itoa(s.st.NextWO), WorkOrderSid: s.st.NextWOSid, WOTemplateId: tpl.WOTemplateId,
		Description: tpl.Description, Status: WOOpen, InitiateDate: s.now(), WOAddress: in.Address,
		EntityType: strings.ToUpper(in.EntityType), Priority: string(in.Priority), Instructions: in.Instructions,
		InitiatedByApp: in.InitiatedByApp, RequestIds: in.RequestIds,
	}
	if in.X != nil {
		wo.WOXCoordinate, wo.WOYCoordinate = *in.X, *in.Y
	}
	for n, l := range tx {
		if wo.Texts == nil {
			wo.Texts = map[int]string{}
		}
		wo.Texts[n] = l[0]
	}
	s.st.WorkOrders[wo.WorkOrderId] = wo
	for _, rid := range in.RequestIds {
		s.st.Requests[rid].WorkOrderId = wo.WorkOrderId
	}
	if strings.TrimSpace(in.Comments) != "" {
		s.addCommentLocked(ActivityWorkOrder, wo.WorkOrderSid, wo.WorkOrderId, in.Comments, c.login)
	}
	s.stats.WorkOrderCreates++
	return reply{value: []*WorkOrder{wo}, wsReqID: in.WebServiceRequestId}, nil
}

func (s *Server) apiWorkOrderByID(c *call) (reply, *apiError) {
	var in struct{ WorkOrderId flexStr }
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	wo, ok := s.st.WorkOrders[string(in.WorkOrderId)]
	if !ok {
		return reply{}, fail(codeItemNotFound, "Work order %s not found", in.WorkOrderId)
	}
	return reply{value: wo}, nil
}

func (s *Server) apiWorkOrdersByIDs(c *call) (reply, *apiError) {
	var in struct{ WorkOrderIds strList }
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	if len(in.WorkOrderIds) > s.opts.MaxBatch {
		return reply{}, fail(codeInvalidField, "WorkOrderIds: at most %d ids per call", s.opts.MaxBatch)
	}
	out := []*WorkOrder{}
	for _, id := range in.WorkOrderIds {
		if wo, ok := s.st.WorkOrders[id]; ok {
			out = append(out, wo)
		}
	}
	return reply{value: out}, nil
}

func (s *Server) apiSearchWorkOrders(c *call) (reply, *apiError) {
	var in struct {
		WorkOrderIds, WOTemplateId, Status strList
		Closed, Canceled                   *bool
		InitiateDateBegin, InitiateDateEnd string
		MaxResults                         int
	}
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	tx, e := texts(c.data)
	if e != nil {
		return reply{}, e
	}
	initiated, e := s.dateRange(in.InitiateDateBegin, in.InitiateDateEnd)
	if e != nil {
		return reply{}, e
	}
	ids := []string{}
	for _, id := range s.st.workOrderIDs() {
		wo := s.st.WorkOrders[id]
		ok := in.WorkOrderIds.has(id) && in.WOTemplateId.has(wo.WOTemplateId) && in.Status.has(wo.Status) &&
			(in.Closed == nil || *in.Closed == wo.IsClosed) && (in.Canceled == nil || *in.Canceled == wo.Cancel) &&
			(initiated == nil || initiated(wo.InitiateDate))
		for n, want := range tx {
			ok = ok && want.has(wo.Texts[n]) && wo.Texts[n] != ""
		}
		if ok {
			ids = append(ids, id)
		}
	}
	if in.MaxResults > 0 && len(ids) > in.MaxResults {
		ids = ids[:in.MaxResults]
	}
	return reply{value: ids}, nil
}

func (s *Server) workOrdersLocked(ids []string) ([]*WorkOrder, *apiError) {
	if len(ids) == 0 {
		return nil, fail(codeInvalidField, "WorkOrderIds is required")
	}
	out := make([]*WorkOrder, 0, len(ids))
	for _, id := range ids {
		wo, ok := s.st.WorkOrders[id]
		if !ok {
			return nil, fail(codeItemNotFound, "Work order %s not found", id)
		}
		out = append(out, wo)
	}
	return out, nil
}

func (s *Server) apiCloseWorkOrders(c *call) (reply, *apiError) {
	var in struct{ WorkOrderIds strList }
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	wos, e := s.workOrdersLocked(in.WorkOrderIds)
	if e != nil {
		return reply{}, e
	}
	for _, wo := range wos {
		if wo.Cancel {
			return reply{}, fail(codeWOClosedOrCancelled, "Work order %s is cancelled", wo.WorkOrderId)
		}
	}
	for _, wo := range wos {
		s.closeWorkOrderLocked(wo)
	}
	return reply{value: wos}, nil
}

func (s *Server) closeWorkOrderLocked(wo *WorkOrder) {
	if !wo.IsClosed {
		wo.IsClosed, wo.DateWOClosed, wo.Status = true, s.now(), WOClosed
	}
}

func (s *Server) apiCancelWorkOrders(c *call) (reply, *apiError) {
	var in struct {
		WorkOrderIds strList
		CancelReason string
	}
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	wos, e := s.workOrdersLocked(in.WorkOrderIds)
	if e != nil {
		return reply{}, e
	}
	for _, wo := range wos {
		if wo.IsClosed && !wo.Cancel {
			return reply{}, fail(codeWOClosedOrCancelled, "Work order %s is closed", wo.WorkOrderId)
		}
	}
	for _, wo := range wos {
		s.cancelWorkOrderLocked(wo, in.CancelReason)
	}
	return reply{value: wos}, nil
}

func (s *Server) cancelWorkOrderLocked(wo *WorkOrder, reason string) {
	if !wo.Cancel {
		wo.Cancel, wo.CancelReason, wo.DateCancelled, wo.Status = true, reason, s.now(), WOCancel
	}
}

func (s *Server) apiWOTemplates(c *call) (reply, *apiError) {
	var in struct {
		EntityType    string
		EntityTypes   strList
		Category      string
		DomainId      int
		WOTemplateIds strList
	}
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	out := []*WOTemplate{}
	for _, id := range slices.SortedFunc(maps.Keys(s.st.WOTemplates), idCompare) {
		t := s.st.WOTemplates[id]
		if (in.EntityType != "" && !strings.EqualFold(in.EntityType, t.ApplyToEntity)) || !in.EntityTypes.has(t.ApplyToEntity) ||
			(in.Category != "" && !strings.EqualFold(in.Category, t.WOCategory)) ||
			(in.DomainId != 0 && in.DomainId != t.DomainId) || !in.WOTemplateIds.has(id) {
			continue
		}
		out = append(out, t)
	}
	return reply{value: out}, nil
}

func (s *Server) apiWorkOrderAddComments(c *call) (reply, *apiError) {
	var in struct {
		WorkOrderId  flexStr
		WorkOrderSid int
		Comments     string
	}
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	wo := s.findWorkOrderLocked(string(in.WorkOrderId), in.WorkOrderSid)
	if wo == nil {
		return reply{}, fail(codeItemNotFound, "Work order %s not found", in.WorkOrderId)
	}
	if strings.TrimSpace(in.Comments) == "" {
		return reply{}, fail(codeMissingComments, "Comments are required")
	}
	s.addCommentLocked(ActivityWorkOrder, wo.WorkOrderSid, wo.WorkOrderId, in.Comments, c.login)
	return reply{value: blob(s.st.comments(ActivityWorkOrder, wo.WorkOrderSid))}, nil
}

func (s *Server) apiWorkOrderComments(c *call) (reply, *apiError) {
	var in struct{ WorkOrderId flexStr }
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	wo, ok := s.st.WorkOrders[string(in.WorkOrderId)]
	if !ok {
		return reply{}, fail(codeItemNotFound, "Work order %s not found", in.WorkOrderId)
	}
	return reply{value: blob(s.st.comments(ActivityWorkOrder, wo.WorkOrderSid))}, nil
}

// findWorkOrderLocked finds a work order by id, or by sid when the id is empty.
func (s *Server) findWorkOrderLocked(id string, sid int) *WorkOrder {
	if id != "" {
		return s.st.WorkOrders[id]
	}
	for _, wo := range s.st.WorkOrders {
		if sid != 0 && wo.WorkOrderSid == sid {
			return wo
		}
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }
